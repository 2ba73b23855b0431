/**
 * The desktop's own error codes for client services: `docs/host-errors.md`, written with slsd's
 * `docs/errors.md` by `npm run docs:errors`, and checked like it (scripts/host-errors-doc.test.ts).
 *
 * slsd's page is generated from its registry (server/errors.ts); the desktop's codes are listed in
 * core/contract/errors.ts (`HOST_ERROR_CODES`) and documented here, one entry each: when the host (or
 * the window) raises it, what the user reads, what support does. What the user reads is not written
 * here but taken from the renderer: its wording of the error as the host sends it (`describeError`,
 * in English), or the catalogue entry the screen shows instead (a DSC+ card's line). Lives in
 * scripts/ because server/ may not import the renderer (eslint.config.js import rules).
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { HOST_ERROR_CODES } from '../core/contract/errors.ts';
import type { ClientError, ErrorText, HostErrorCode } from '../core/contract/index.ts';
import { en } from '../renderer/i18n/en/index.ts';
import { applyLanguage, currentLanguage } from '../renderer/i18n/index.ts';
import { describeError } from '../renderer/messages.ts';

export const HOST_ERRORS_DOC_PATH = fileURLToPath(new URL('../docs/host-errors.md', import.meta.url));

/**
 * One way the user meets the error: the host's error (its `code` is the entry's), which the window
 * words with `describeError`; or a catalogue entry (English) the screen shows in its place.
 */
export type Shown = { readonly case?: string } & ({ readonly error: Omit<ClientError, 'code'> } | { readonly entry: ErrorText });

export interface HostErrorDoc {
  /** When the host (or the window) raises it. */
  readonly when: string;
  /** What the user reads, case by case. */
  readonly shows: readonly [Shown, ...Shown[]];
  /** What client services do. */
  readonly support: string;
}

export const HOST_ERROR_DOCS = {
  SLS_ERR_SERVER_UNREACHABLE: {
    when: 'SLS Desktop could not reach slsd at the server address of its settings: no network, a name that does not resolve, a connection refused, no answer in time (15 s for most calls), a TLS failure, or a redirect (the app follows none, so a proxy or captive portal that redirects lands here too). On the IB Key screen the app keeps asking every few seconds instead of giving up (SPEC L7).',
    shows: [{ error: { message: 'The SLS server could not be reached.' } }],
    support: 'Check that the server address on the login form is the firm\'s `https://` address, then whether slsd answers from the user\'s network: `<address>/v1/health` opened in a browser there. A VPN, proxy or firewall in between is the usual cause when slsd answers elsewhere. When it answers nobody, look at slsd (`GET /v1/ready`, its log).',
  },
  SLS_ERR_BAD_SERVER_RESPONSE: {
    when: "Something answered at the server address, but not slsd's v1 API: another web server or a proxy's page at that address, or an slsd this app does not understand (version skew). A proxy's 502, 503 or 504 is slsd's `SLS_ERR_SERVICE_UNAVAILABLE` instead (see errors.md).",
    shows: [{ error: { message: 'The server answered HTTP 200 in a form SLS does not know.' } }],
    support: "Check the server address (a wrong port or path often reaches another site) and open `<address>/v1/health`: slsd answers it in JSON. If it does, note the app's version and build (the More menu) and the server's release, and escalate with the host's log.",
  },
  SLS_ERR_SERVER_ADDRESS_INSECURE: {
    when: 'SPEC C1, C3: the server address is plain `http://` to another computer. Passwords, codes and session tokens travel only encrypted: `http://` is allowed only to an slsd on the same computer. Refused when the login form saves the address, and before every request (a settings file from before the check may hold one).',
    shows: [{ error: { message: 'The server address must use https:// (plain http is allowed only on this computer).' } }],
    support: "Give the user the firm's `https://` server address. Never suggest plain `http://`: the app refuses it by design.",
  },
  SLS_ERR_SERVER_ADDRESS_INVALID: {
    when: 'The server address is not a web address SLS can use: not a URL, not `http(s)://`, or it carries a user name, a password, a query (`?…`) or a fragment (`#…`).',
    shows: [{ error: { message: 'The server address is not a valid URL.' } }],
    support: "Have the user type the host name alone (such as `sls.example.com`) or the firm's full `https://` address, nothing after it.",
  },
  SLS_ERR_INVALID_INPUT: {
    when: "SPEC C3: the window sent the host a call it does not know or input the contract refuses (an address on the login form that is not one). Other than the server address, the window's own checks should never let this through: a bug, or the window and the host of different versions. A valid address chosen while signed in is `SLS_ERR_SIGN_OUT_FIRST`.",
    shows: [
      { case: 'the server address', error: { message: 'Invalid input for setSettings.', issues: [{ path: 'serverAddress', message: 'Enter a host name or an http(s) address' }] } },
      { case: 'anything else (in English the second sentence is the host\'s reason, when it gives one)', error: { message: 'Unknown call.' } },
    ],
    support: "The server address: as for `SLS_ERR_SERVER_ADDRESS_INVALID`. Anything else: have the user restart SLS Desktop; if it comes back, escalate with the steps, the version and build (the More menu) and the host's log.",
  },
  SLS_ERR_SIGN_OUT_FIRST: {
    when: "SPEC C3: another server address was chosen on the login form while SLS Desktop holds a session (or the Client Portal session of Account security, C6), typically while another window or browser tab of the same SLS Desktop is signed in. The host keeps the server the session was opened on, so its token never goes to another server; nothing was changed or sent.",
    shows: [{ error: { message: 'Sign out before choosing another server.' } }],
    support: 'Have the user press Sign out in the window that is signed in, then choose the other server on the login form. If no window shows a session, have them restart SLS Desktop.',
  },
  SLS_ERR_NO_LOGIN_IN_PROGRESS: {
    when: 'A login step (choosing a device, a response, a new code, the IB Key wait) came when the host has no login in progress, or its answer came back after the login was over: the app was restarted, the login was cancelled or ended by a newer one, or another server address was chosen meanwhile (SPEC C3). The window goes back to the login form.',
    shows: [{ error: { message: 'No login is in progress.' } }],
    support: 'Have the user log in again. If it happens at every login, ask whether another SLS Desktop window or copy is open and logging in too.',
  },
  SLS_ERR_LOGIN_NOT_CURRENT: {
    when: 'SPEC L6, C5: a login step named a login that is no longer the host\'s current one: a newer login was started meanwhile, in another window or after a page reload. The host refused it before anything reached slsd, so a response typed on the older screen never counts as a wrong response of the newer login (3 end a login, 10 lock the user). The window reads the state again: signed in meanwhile, it shows the signed-in screen and no error; else the login form, saying this.',
    shows: [{ case: 'on the login form', error: { message: 'This login is no longer the current one: a newer login was started. Nothing was sent for it.' } }],
    support: 'Nothing to repair: the user goes on in the newer login (the other window) or logs in again. If it recurs with one window, look for a second copy of SLS Desktop or a second browser tab of it.',
  },
  SLS_ERR_UNTRUSTED_SENDER: {
    when: "SPEC C3: Electron's host refused a call from a frame that is not the app's own page (the sender check). The app's window never gets it in normal use; the host's log says `refused IPC from an untrusted frame`.",
    shows: [{ error: { message: 'Refused.' } }],
    support: "Have the user quit and restart SLS Desktop. If it persists, treat the installation as suspect: reinstall from the firm's installer and escalate to security with the log.",
  },
  SLS_ERR_KEYCHAIN: {
    when: 'The OS keychain (Secret Service on Linux, Keychain on macOS, Credential Manager on Windows) refused a call the window waited for, typically Reset app data clearing the app\'s entries (SPEC C4): the keychain is locked, its unlock prompt was dismissed, or the Secret Service stopped. Where no keychain exists at all the app works without one and this is not shown: auto-restart stays off (SPEC L8).',
    shows: [{ error: { message: 'The OS keychain is not available.' } }],
    support: "Have the user unlock the system keychain (on Linux, the desktop's keyring, such as GNOME Keyring) and try again. The app keeps only auto-restart tokens there, never a password.",
  },
  SLS_ERR_PUSH_DENIED: {
    when: 'SPEC L7: the IB Key request of this login was denied in the IB Key app on the phone. The login has ended; the window goes back to the login form.',
    shows: [{ error: { message: 'The request was denied on the phone.' } }],
    support: "Ask whether the user denied it. If they did not start that login, someone else has their password: have it changed (`slsctl user set-password U`, or the firm's procedure), and read `slsctl audit --user U` for the logins and source addresses involved.",
  },
  SLS_ERR_PUSH_WRONG_NUMBER: {
    when: 'SPEC L7: the number chosen in the IB Key app was not the one this login\'s screen showed. The login has ended; the window goes back to the login form.',
    shows: [{ error: { message: 'The number chosen on the phone did not match.' } }],
    support: 'Have the user log in again and choose, on the phone, the number shown on the computer. If they did not start that login, proceed as for `SLS_ERR_PUSH_DENIED`.',
  },
  SLS_ERR_DSCPLUS_DISCONNECTED: {
    when: 'SPEC C2, H2: a plugged-in DSC+ was answering the challenge itself (at login, or an Account security confirmation) and was unplugged, or is no longer found. The user types the response from the card instead; nothing was sent to slsd.',
    shows: [
      { case: 'at login', entry: en.challenge.card.disconnected },
      { case: 'in Account security', entry: en.account.cardFallback.disconnected },
    ],
    support: 'The user types the response the card shows. If the card is never seen while plugged in, try another USB port or cable and look in the log for the DSC+ discovery.',
  },
  SLS_ERR_DSCPLUS_BLOCKED: {
    when: 'SPEC H2: the DSC+ is blocked after 3 wrong PINs typed on it. A blocked card answers nothing, typed or not: at login the window offers the user\'s other devices.',
    shows: [
      { case: 'at login', entry: en.challenge.card.blocked },
      { case: 'in Account security', entry: en.account.cardFallback.blocked },
    ],
    support: 'The card cannot be used any more. The user logs in with another of their devices; with none, issue temporary access (`slsctl temp-passcode issue U`) and follow the firm\'s procedure for a replacement card.',
  },
  SLS_ERR_DSCPLUS_CANCELLED: {
    when: 'SPEC H2: the request was cancelled on the DSC+ itself, or stopped because the user went on (typed the response, chose another device, cancelled).',
    shows: [
      { case: 'at login', entry: en.challenge.card.cancelled },
      { case: 'in Account security', entry: en.account.cardFallback.cancelled },
    ],
    support: 'Nothing to repair: the user types the response from the card, or sends the challenge to the card again.',
  },
  SLS_ERR_DSCPLUS_TIMEOUT: {
    when: 'SPEC H2, C5: the DSC+ waited for its PIN and none was typed on it in time.',
    shows: [
      { case: 'at login', entry: en.challenge.card.timeout },
      { case: 'in Account security', entry: en.account.cardFallback.timeout },
    ],
    support: 'The user sends the challenge to the card again and types the PIN on the card (never in the app), or types the response from the card.',
  },
  SLS_ERR_DSCPLUS_FAILED: {
    when: 'SPEC H2: the DSC+ did not answer the challenge for any other reason (a USB or protocol failure).',
    shows: [
      { case: 'at login', entry: en.challenge.card.failed },
      { case: 'in Account security', entry: en.account.cardFallback.failed },
    ],
    support: "The user types the response from the card. If it happens every time, escalate with the host's log and the card's serial number.",
  },
  SLS_ERR_HOST_DISCONNECTED: {
    when: "Raised by the window itself, not the host: its connection to SLS Desktop ended (the browser host stopped or crashed), the page was opened without SLS Desktop's launch code (an address typed or bookmarked, a tab the host never opened), or on Linux the browser host could not check that the window's connection belongs to the user running it (SPEC C3).",
    shows: [
      { case: 'connection lost', error: { message: 'The connection to SLS Desktop was lost.' } },
      { case: 'not opened by SLS Desktop', entry: en.shell.notOpened },
      { case: 'owner not checked (Linux)', entry: en.shell.ownerUnknown },
    ],
    support: 'Have the user close the window and start SLS Desktop again, then use the window it opens (or the full address it prints), never a bookmark. If the connection keeps being lost, escalate with the browser host\'s output.',
  },
  SLS_ERR_HOST_INTERNAL: {
    when: "Anything unexpected inside the host. The details go to the host's log, never to the window.",
    shows: [{ error: { message: 'Something went wrong in SLS Desktop.' } }],
    support: 'Have the user try again, then restart SLS Desktop. If it comes back, escalate as a bug with the time it happened, the version and build (the More menu) and the log.',
  },
} as const satisfies Record<HostErrorCode, HostErrorDoc>;

/** What the user reads, in English, for one way of meeting the error. */
function shownText(code: HostErrorCode, shown: Shown): ErrorText {
  return 'entry' in shown ? shown.entry : describeError({ code, ...shown.error });
}

const quoted = (t: ErrorText) => `“${[t.message, t.action].filter((s) => s !== '').join(' ')}”`;

/** The cases of an entry as lines, cases that read the same on one line ("at login and in Account security"). */
function shownLines(code: HostErrorCode, shows: readonly Shown[]): string[] {
  const byText = new Map<string, string[]>();
  for (const s of shows) {
    const text = quoted(shownText(code, s));
    byText.set(text, [...(byText.get(text) ?? []), s.case ?? 'otherwise']);
  }
  const only = byText.size === 1 && shows.every((s) => s.case === undefined);
  if (only) return [`**The user reads:** ${[...byText.keys()][0]!}`];
  const lines = ['**The user reads:**', ''];
  for (const [text, cases] of byText) {
    const label = cases.join(' and ');
    lines.push(`- ${label.charAt(0).toUpperCase()}${label.slice(1)}: ${text}`);
  }
  return lines;
}

/** The Markdown page `docs/host-errors.md`, generated from `HOST_ERROR_DOCS`. */
export function renderHostErrorsMarkdown(): string {
  const before = currentLanguage();
  applyLanguage('en');
  try {
    const lines = [
      '# SLS Desktop error codes',
      '',
      '<!-- Generated from scripts/host-errors-doc.ts by `npm run docs:errors`; do not edit by hand. -->',
      '',
      'For client services: the codes SLS Desktop raises itself, never slsd (whose codes are in',
      '[errors.md](errors.md); the window words those in its own way too). For each: when it happens,',
      'what the user reads (in English; the German and French windows say the same), and what to do.',
      "The app's version and build are in its More menu; its log: Open Logs Folder, in the File menu or",
      'on macOS the SLS Desktop menu (the browser host writes its log to the terminal it was started',
      'from). The log never holds a password, a response or a token.',
      '',
    ];
    for (const code of HOST_ERROR_CODES) {
      const doc: HostErrorDoc = HOST_ERROR_DOCS[code];
      lines.push(`## \`${code}\``, '', `**When:** ${doc.when}`, '');
      lines.push(...shownLines(code, doc.shows), '', `**Support:** ${doc.support}`, '');
    }
    return lines.join('\n');
  } finally {
    applyLanguage(before);
  }
}

export function main(): void {
  fs.writeFileSync(HOST_ERRORS_DOC_PATH, renderHostErrorsMarkdown());
  console.log(`wrote ${HOST_ERRORS_DOC_PATH}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
