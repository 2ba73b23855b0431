/**
 * The IB Key app (the phone's role in SLS): activation, several users, push approval, offline codes,
 * recovery and client services' messages (SPEC K1–K8, L7).
 *
 * UI-free: every question goes through a `Prompter` (the CLI reads a terminal or stdin; tests answer
 * from a script). The private keys are opened with the PIN only for the moment they sign.
 */
import { API_PREFIX } from '../core/api.ts';
import type { Challenge } from '../core/api.ts';
import { deviceResponse } from '../core/codes.ts';
import { DEVICE_CATALOGUE } from '../core/devices.ts';
import { SlsdClient, SlsdError } from './client.ts';
import { isValidPin, newDeviceKey, openSealedMessage, openWithPin, sealUnderPin, signWith, WrongPinError } from './crypto.ts';
import type { UserSecrets } from './crypto.ts';
import {
  answerMessage,
  AnswerResponse,
  CheckActivationCodeResponse,
  CompleteActivationResponse,
  K7_MESSAGE,
  messageAad,
  NonceResponse,
  PollResponse,
  pollMessage,
  recoveryMessage,
  StartActivationResponse,
} from './protocol.ts';
import type { AppMessage, IbKeyPlatform, IbKeyPurpose, PushRequest, StartActivationRequest } from './protocol.ts';
import { AppState } from './state.ts';
import type { AppData, KeyEntry } from './state.ts';

export interface Prompter {
  ask(question: string): Promise<string>;
  /** Like ask, without echo on a terminal. */
  secret(question: string): Promise<string>;
  say(line: string): void;
}

export class IbKeyAppError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IbKeyAppError';
  }
}

const keyAad = (deviceId: string) => `SLS-IBKEY-KEY-V1\n${deviceId}`;

/** A message from client services, opened (K8). */
export interface InboxMessage {
  readonly messageId: string;
  readonly username: string;
  readonly temporaryPassword: string;
  readonly createdAt: string;
}

/** What the app answered to one push. */
export interface AnsweredPush {
  readonly request: PushRequest;
  readonly outcome: AnswerResponse['outcome'];
}

export class IbKeyApp {
  readonly state: AppState;
  readonly #p: Prompter;

  constructor(stateDir: string, prompter: Prompter, opts: { platform?: IbKeyPlatform; server?: string } = {}) {
    this.state = new AppState(stateDir);
    this.#p = prompter;
    this.state.ensurePhone(opts.platform);
    this.state.ensureApp(opts.server);
  }

  get platform(): IbKeyPlatform {
    return this.state.phone()!.platform;
  }

  get #app(): AppData {
    const app = this.state.app();
    if (!app) throw new Error('no app data');
    return app;
  }

  get #client(): SlsdClient {
    return new SlsdClient(this.#app.server);
  }

  users(): AppData['users'] {
    return this.#app.users;
  }

  #key(username: string): KeyEntry {
    const k = this.state.keys().find((e) => e.username.toLowerCase() === username.toLowerCase());
    if (!k) throw new IbKeyAppError(`${username} is not activated in this app (ibkey activate / add-user).`);
    return k;
  }

  #open(entry: KeyEntry, pin: string): UserSecrets {
    return openWithPin(entry.sealed, pin, keyAad(entry.deviceId));
  }

  async #askPin(question = 'PIN: '): Promise<string> {
    return (await this.#p.secret(question)).trim();
  }

  /**
   * A new PIN, typed twice (K1: chosen in the app). A PIN that is not 4–16 digits, or typed
   * differently the second time, is asked again: the activation code already checked stays good
   * meanwhile, so a slip of the finger does not cost the user a new SMS. Three slips end it.
   */
  async #chooseNewPin(): Promise<string> {
    for (let slip = 1; ; slip++) {
      const pin = await this.#askPin('Choose a PIN (4–16 digits): ');
      const again = isValidPin(pin) ? await this.#askPin('Repeat the PIN: ') : null;
      if (again === pin) return pin;
      const why = again === null ? 'A PIN is 4 to 16 digits.' : 'The two PINs differ.';
      if (slip === 3) throw new IbKeyAppError(`${why} Start again to activate IB Key.`);
      this.#p.say(`${why} Choose it again.`);
    }
  }

  /** The app's PIN: checked against a key it already protects, or chosen now when there is none. */
  async #appPin(): Promise<string> {
    const existing = this.state.keys().filter((k) => this.#app.users.some((u) => u.deviceId === k.deviceId));
    if (existing.length === 0) return this.#chooseNewPin();
    const pin = await this.#askPin('App PIN: ');
    this.#open(existing[0]!, pin);
    return pin;
  }

  /**
   * The PIN an iOS recovery seals the new key under (K3, K4, K5): the app's one PIN.
   *
   * `originalPin` opened the user's old key (K4/K5 iOS: "the PIN originally set"), which proves who
   * the user is. When the app serves no other user it becomes the app's PIN. When it does, their keys
   * are under the app's PIN: the original PIN is used again if it opens them (the usual case: the
   * same app's PIN all along), otherwise the app's PIN is asked and checked (the key came from
   * another iPhone, or another user set the PIN after a reinstall). Never two PINs in one app, or one
   * PIN would no longer open every user's key to approve (`unlock`).
   */
  async #recoveredKeyPin(username: string, originalPin: string): Promise<string> {
    const others = this.state
      .keys()
      .filter((k) => k.username.toLowerCase() !== username.toLowerCase() && this.#app.users.some((u) => u.deviceId === k.deviceId));
    if (others.length === 0) return originalPin;
    try {
      this.#open(others[0]!, originalPin);
      return originalPin;
    } catch (e) {
      if (!(e instanceof WrongPinError)) throw e;
    }
    const pin = await this.#askPin('App PIN: ');
    this.#open(others[0]!, pin);
    return pin;
  }

  // -------------------------------------------------------------------------------------------
  // Activation (K1, K3) and recovery (K4–K7)

  /** Activates IB Key for a user in this app (K1); for a further user it is "Add user" (K3). */
  async activate(username: string, password: string, label?: string): Promise<CompleteActivationResponse> {
    if (this.#app.users.some((u) => u.username.toLowerCase() === username.toLowerCase())) {
      throw new IbKeyAppError(`${username} is already activated in this app.`);
    }
    return this.#enrol(
      { purpose: 'activate', platform: this.platform, installationId: this.#app.installationId, credentials: { username, password } },
      () => this.#appPin(),
      label,
    );
  }

  /**
   * Reactivation on the same phone (K4) or transfer to this phone (K5).
   *
   * iOS: the PIN originally set (it opens the key kept in the Keychain, which signs for the user) plus
   * an SMS code. Android: user name and password, an SMS activation token, then the PIN. A user with
   * another active physical device answers its challenge instead of the SMS (K6).
   */
  async recover(purpose: Exclude<IbKeyPurpose, 'activate'>, username: string, opts: { password?: string; smsAvailable?: boolean; label?: string }): Promise<CompleteActivationResponse> {
    const base = { purpose, platform: this.platform, installationId: this.#app.installationId, smsAvailable: opts.smsAvailable ?? true };
    if (this.platform === 'ios') {
      const entry = this.state.keys().find((e) => e.username.toLowerCase() === username.toLowerCase());
      if (!entry) {
        throw new IbKeyAppError(
          `This iPhone holds no IB Key of ${username} (restore the iCloud Keychain of the old phone). ${K7_MESSAGE}`,
        );
      }
      const pin = await this.#askPin('The PIN originally set: ');
      const secrets = this.#open(entry, pin);
      const { nonce } = await this.#client.post(`${API_PREFIX}/ibkey/nonces`, {}, NonceResponse);
      const signature = signWith(secrets.privateKey, recoveryMessage(nonce, entry.deviceId));
      return this.#enrol({ ...base, originalKey: { deviceId: entry.deviceId, nonce, signature } }, () => this.#recoveredKeyPin(username, pin), opts.label);
    }
    if (!opts.password) throw new IbKeyAppError('On Android, recovery asks for the user name and password.');
    const hasOtherUsers = this.#app.users.some((u) => u.username.toLowerCase() !== username.toLowerCase());
    return this.#enrol({ ...base, credentials: { username, password: opts.password } }, () => (hasOtherUsers ? this.#appPin() : this.#chooseNewPin()), opts.label);
  }

  async #answerProof(start: StartActivationResponse): Promise<string> {
    const proof = start.proof;
    if (proof.type === 'sms_code') {
      this.#p.say(`An activation code was sent by SMS to ${proof.maskedNumber}.`);
      return (await this.#p.ask('Activation code: ')).trim();
    }
    this.#p.say(describeDeviceChallenge(proof.challenge));
    return (await this.#p.ask('Response: ')).trim();
  }

  /**
   * Starts, checks the code, asks for the PIN, completes (K1, K4, K5).
   *
   * The code is checked with slsd before the PIN is asked (the check does not use it up), so a wrong,
   * used or expired code is told before the user sets anything; a wrong one is asked again while
   * attempts are left. Completion then takes the same code, once.
   */
  async #enrol(start: StartActivationRequest, pinFor: () => Promise<string>, label?: string): Promise<CompleteActivationResponse> {
    const client = this.#client;
    const started = await client.post(`${API_PREFIX}/ibkey/activations`, start, StartActivationResponse);
    const activation = `${API_PREFIX}/ibkey/activations/${encodeURIComponent(started.activationId)}`;
    let code = await this.#answerProof(started);
    for (;;) {
      try {
        await client.post(`${activation}/check`, { code }, CheckActivationCodeResponse);
        break;
      } catch (e) {
        if (e instanceof SlsdError && e.code === 'SLS_ERR_WRONG_RESPONSE' && (e.attemptsLeft ?? 0) > 0) {
          this.#p.say(`That code is not correct (${attempts(e.attemptsLeft!)} left).`);
          code = (await this.#p.ask(started.proof.type === 'sms_code' ? 'Activation code: ' : 'Response: ')).trim();
          continue;
        }
        throw e;
      }
    }
    // SPEC K4 (Android): credentials, the SMS activation token, then the PIN.
    const pin = await pinFor();
    const key = newDeviceKey();
    // No name given: slsd keeps the one of the IB Key this replaces (K4, K5), else the platform's.
    const done = await client.post(`${activation}/complete`, { code, publicKey: key.publicKey, ...(label ? { label } : {}) }, CompleteActivationResponse);
    const sealed = sealUnderPin({ privateKey: key.privateKey, ocraSecret: done.ocraSecret }, pin, keyAad(done.deviceId));
    this.state.putKey({ username: done.username, deviceId: done.deviceId, sealed });
    const app = this.#app;
    const users = app.users.filter((u) => u.username.toLowerCase() !== done.username.toLowerCase());
    this.state.saveApp({
      ...app,
      users: [...users, { username: done.username, deviceId: done.deviceId, label: done.label, activatedAt: done.activatedAt }],
    });
    return done;
  }

  // -------------------------------------------------------------------------------------------
  // Offline codes (K2)

  /** The response code for a challenge shown on the desktop (K2): works without any network. */
  async respond(username: string, challenge: string): Promise<string> {
    const entry = this.#key(username);
    const secrets = this.#open(entry, await this.#askPin());
    const ch = challenge.replace(/\s+/g, '');
    if (!/^[0-9]+$/.test(ch) || ch.length !== DEVICE_CATALOGUE.ibkey.challengeLength) {
      throw new IbKeyAppError(`The challenge is ${DEVICE_CATALOGUE.ibkey.challengeLength} digits.`);
    }
    return deviceResponse('ibkey', Buffer.from(secrets.ocraSecret, 'base64url'), ch);
  }

  // -------------------------------------------------------------------------------------------
  // Push approval (L7) and messages (K8)

  /** The users this app serves, with their keys opened by the app PIN (for signing polls). */
  async unlock(pin?: string): Promise<Map<string, { entry: KeyEntry; secrets: UserSecrets }>> {
    const app = this.#app;
    const out = new Map<string, { entry: KeyEntry; secrets: UserSecrets }>();
    const thePin = pin ?? (await this.#askPin('App PIN: '));
    for (const u of app.users) {
      const entry = this.state.keys().find((k) => k.deviceId === u.deviceId);
      if (entry) out.set(u.deviceId, { entry, secrets: this.#open(entry, thePin) });
    }
    if (out.size === 0) throw new IbKeyAppError('No user is activated in this app (ibkey activate).');
    return out;
  }

  /**
   * One signed poll: pushes waiting for this app's users, and messages for them.
   *
   * Each user's key stands on its own (K3): a key slsd no longer accepts (K5: that user moved IB Key
   * to another phone) is dropped from this app, said once, and taken out of `keys`, while the other
   * users go on. When slsd accepts none of them, they are all dropped and the refusal is passed on.
   */
  async poll(keys: Map<string, { entry: KeyEntry; secrets: UserSecrets }>, waitSeconds: number, signal?: AbortSignal): Promise<PollResponse> {
    const client = this.#client;
    const { nonce } = await client.post(`${API_PREFIX}/ibkey/nonces`, {}, NonceResponse, signal);
    const proofs = [...keys.values()].map(({ entry, secrets }) => ({ deviceId: entry.deviceId, signature: signWith(secrets.privateKey, pollMessage(nonce, entry.deviceId)) }));
    let res: PollResponse;
    try {
      res = await client.post(`${API_PREFIX}/ibkey/requests`, { nonce, proofs, waitSeconds }, PollResponse, signal);
    } catch (e) {
      // The poll verified every signature and found no key still active: none of these users is served here any more.
      if (e instanceof SlsdError && e.code === 'SLS_ERR_IBKEY_NOT_ACTIVE') this.#forget(keys, proofs.map((p) => p.deviceId));
      throw e;
    }
    if (res.inactiveDeviceIds.length > 0) this.#forget(keys, res.inactiveDeviceIds);
    if (res.messages.length > 0) this.#store(res.messages);
    return res;
  }

  /** Users whose key slsd no longer accepts leave the app, with their key and messages; said once. */
  #forget(keys: Map<string, { entry: KeyEntry; secrets: UserSecrets }>, deviceIds: readonly string[]): void {
    const gone = new Set(deviceIds);
    const app = this.#app;
    for (const u of app.users.filter((x) => gone.has(x.deviceId))) {
      this.#p.say(`IB Key for ${u.username} was moved to another phone or activated again: it no longer works here and was removed from this app.`);
    }
    this.state.saveApp({ ...app, users: app.users.filter((u) => !gone.has(u.deviceId)), inbox: app.inbox.filter((m) => !gone.has(m.deviceId)) });
    this.state.dropKeys(gone);
    for (const id of gone) keys.delete(id);
  }

  /** Keeps new messages (sealed); a newer temporary password replaces an older one of the same key (K8). */
  #store(messages: readonly AppMessage[]): void {
    const app = this.#app;
    let inbox = app.inbox;
    for (const m of messages) {
      if (inbox.some((x) => x.messageId === m.messageId)) continue;
      const username = app.users.find((u) => u.deviceId === m.deviceId)?.username ?? '?';
      inbox = [...inbox.filter((x) => !(x.deviceId === m.deviceId && x.kind === m.kind && x.createdAt <= m.createdAt)), { ...m, username }];
    }
    this.state.saveApp({ ...app, inbox });
  }

  /** Shows one push (client, place, time), asks which number is on the desktop and the PIN, signs, sends (L7). */
  async answerPush(request: PushRequest): Promise<AnsweredPush> {
    const p = this.#p;
    p.say('');
    p.say(`Login request for ${request.username}`);
    p.say(`  client: ${request.clientName}`);
    p.say(`  place:  ${request.place}`);
    // The phone's own clock and zone, as a person reads it (SPEC L7: when the login was asked), not ISO UTC.
    p.say(`  time:   ${phoneTime(request.createdAt)} (expires ${phoneTime(request.expiresAt, { timeOnly: true })})`);
    p.say(`  Which number is shown on your screen?  ${request.choices.join('   ')}`);
    let deny = false;
    let chosen: number | null = null;
    // A number not offered is a typing slip: asked again (the user may still deny).
    for (;;) {
      const typed = (await p.ask(`Number (or "deny"): `)).trim().toLowerCase();
      deny = typed === 'deny' || typed === 'd' || typed === 'no';
      chosen = deny ? null : Number(typed);
      if (deny || (typed !== '' && chosen !== null && Number.isInteger(chosen) && request.choices.includes(chosen))) break;
      const offered = request.choices.map(String);
      p.say(`Choose one of ${offered.slice(0, -1).join(', ')} or ${offered.at(-1)!}, or type "deny".`);
    }
    const entry = this.state.keys().find((k) => k.deviceId === request.deviceId);
    if (!entry) throw new IbKeyAppError(`This app holds no key for ${request.username}.`);
    const secrets = this.#open(entry, await this.#askPin(deny ? 'PIN to deny: ' : 'PIN to approve: '));
    const decision = deny ? 'deny' : 'approve';
    const signature = signWith(
      secrets.privateKey,
      answerMessage({ transactionId: request.transactionId, requestId: request.requestId, decision, chosenNumber: chosen, nonce: request.nonce }),
    );
    const res = await this.#client.post(
      `${API_PREFIX}/ibkey/requests/${encodeURIComponent(request.requestId)}/answer`,
      { transactionId: request.transactionId, decision, chosenNumber: chosen, signature },
      AnswerResponse,
    );
    p.say(
      res.outcome === 'approved'
        ? 'Approved: the login goes on.'
        : res.outcome === 'denied'
          ? 'Denied: the login was stopped and reported to client services as possible fraud.'
          : 'That was not the number on the screen: the login was stopped.',
    );
    return { request, outcome: res.outcome };
  }

  /**
   * Opens messages from client services (K8): all kept ones, or only those named in `only`.
   *
   * Reading does not remove them: the app keeps them, sealed to the user's key, until the user
   * dismisses them (`dismissInbox`), so closing the app too soon loses nothing.
   */
  async readInbox(keys: Map<string, { entry: KeyEntry; secrets: UserSecrets }>, only?: readonly string[]): Promise<InboxMessage[]> {
    const out: InboxMessage[] = [];
    for (const m of this.#app.inbox) {
      const k = keys.get(m.deviceId);
      if (!k || (only && !only.includes(m.messageId))) continue;
      const text = openSealedMessage(k.secrets.privateKey, m, messageAad(m.messageId, m.deviceId));
      out.push({ messageId: m.messageId, username: m.username, temporaryPassword: text, createdAt: m.createdAt });
    }
    return out;
  }

  /** The user dismisses the kept messages (K8); how many there were. */
  dismissInbox(): number {
    const app = this.#app;
    this.state.saveApp({ ...app, inbox: [] });
    return app.inbox.length;
  }
}

/** "1 attempt", "2 attempts". */
function attempts(n: number): string {
  return `${n} attempt${n === 1 ? '' : 's'}`;
}

/** What to do with another device's challenge (K6), in the words of the desktop screens (L4). */
export function describeDeviceChallenge(c: Challenge): string {
  const name = DEVICE_CATALOGUE[c.kind].name;
  if (c.type === 'response_code') {
    const pin = c.pinOnDevice ? 'enter your PIN on the card, then ' : '';
    return `Use your ${name} instead of an SMS: ${pin}enter the challenge ${c.challenge} and type the response.`;
  }
  if (c.type === 'index_numbers') {
    return `Use your ${name} instead of an SMS: type the codes at index numbers ${c.indexes[0]} and ${c.indexes[1]}, without spaces.`;
  }
  return `Use your ${name} instead of an SMS.`;
}

export { WrongPinError };

/** A moment as the phone shows it: its locale and time zone, to the second ("Nov 29, 2026, 1:37:18 AM"). */
export function phoneTime(iso: string, o: { timeOnly?: boolean } = {}): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return o.timeOnly ? d.toLocaleTimeString(undefined, { timeStyle: 'medium' }) : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}
