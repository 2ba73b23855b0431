/**
 * The app: which screen shows, driven by the login steps the host returns (SPEC L1–L5, C1).
 *
 * The same device screens serve the Client Portal login of the Account screens (the step-up, SPEC
 * C6, O1, L8): then they carry the trading session they return to, with Cancel and Escape included.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { Challenge } from '../core/api.ts';
import { endsLogin } from '../core/contract/messages.ts';
import { describeConnectError } from './connect-error.ts';
import { LOGIN_WARNING_MS } from '../core/contract/messages.ts';
import { autoRestartFailedText, describeError, loginExpiredText, sessionEndedText } from './messages.ts';
import type { AppInfo, ApprovalView, AutoRestartAttempt, ClientError, DeviceView, DscPlusStatus, ErrorText, Language, LoginStepView, SessionView, SettingsView, SlsApi, Theme } from '../core/contract/index.ts';
import { applyLanguage } from './i18n/index.ts';
import { MoreMenu } from './MoreMenu.tsx';
import { AccountScreen } from './screens/AccountScreen.tsx';
import { ChallengeScreen } from './screens/ChallengeScreens.tsx';
import { LoginScreen } from './screens/LoginScreen.tsx';
import { SelectDeviceScreen } from './screens/SelectDeviceScreen.tsx';
import { SignedInScreen } from './screens/SignedInScreen.tsx';
import { LoginEndingNotice, SessionEndingNotice, useSessionPhase } from './session-expiry.tsx';
import { Spinner, toClientError, useAction, useLatest, withCurrentLoginStep } from './ui.tsx';
import type { Notice } from './ui.tsx';
import { deviceLabel } from './devices.ts';

/**
 * On the device screens: the login they are of (`loginId`, named by every step sent from them: SPEC
 * L6, C5), its own time limit (L2–L5, C5), and, on the step-up's (C6), the trading session to go back
 * to Account security with.
 */
type DeviceStep = { loginId: string; expiresAt: string; stepUp?: SessionView };

type View =
  | { name: 'starting' }
  | { name: 'fatal'; error: ErrorText }
  /** `autoRestart`: the start's auto-restart did not sign in (SPEC L8): the form says why, worded when shown (in the language chosen). */
  | { name: 'login'; notice: Notice | null; key: number; autoRestart?: AutoRestartAttempt; username?: string }
  | ({ name: 'select'; devices: readonly DeviceView[]; preselectedDeviceId: string } & DeviceStep)
  | ({ name: 'challenge'; devices: readonly DeviceView[]; challenge: Challenge } & DeviceStep)
  | { name: 'signed_in'; session: SessionView }
  | { name: 'account'; session: SessionView; verify?: { notice: ErrorText | null } };

/** The trading session a view shows, or returns to from the step-up's device screens (SPEC C6); null before signing in. */
function signedInSession(v: View): SessionView | null {
  if (v.name === 'signed_in' || v.name === 'account') return v.session;
  if (v.name === 'select' || v.name === 'challenge') return v.stepUp ?? null;
  return null;
}

/** The view with the trading session as the host now has it (slsd extended it; auto-restart changed, SPEC L8). */
function withSession(v: View, session: SessionView): View {
  if (v.name === 'signed_in' || v.name === 'account') return { ...v, session };
  if ((v.name === 'select' || v.name === 'challenge') && v.stepUp) return { ...v, stepUp: session };
  return v;
}

/** The view with the DSC+ of this serial marked plugged in or not (SPEC C2). */
function withCardConnected(v: View, serial: string, connected: boolean): View {
  if (v.name !== 'select' && v.name !== 'challenge') return v;
  if (!v.devices.some((d) => d.serial === serial && d.connected !== connected)) return v;
  return { ...v, devices: v.devices.map((d) => (d.kind === 'dscplus' && d.serial === serial ? { ...d, connected } : d)) };
}

export function App({ connect }: { connect: () => Promise<SlsApi> }) {
  const { t } = useTranslation('shell');
  const [api, setApi] = useState<SlsApi | null>(null);
  const [view, setView] = useState<View>({ name: 'starting' });
  const [settings, setSettings] = useState<SettingsView | null>(null);
  const [info, setInfo] = useState<AppInfo | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [signingOut, setSigningOut] = useState(false);
  /** SPEC C2: the serials of the DSC+ cards plugged in now, whoever's. */
  const [cards, setCards] = useState<string[]>([]);

  /** The Account tab last chosen in this session: the screen opens on it again, after "Verify it's you" too (SPEC C6). */
  const accountTab = useRef<string | null>(null);
  /** The user name the login in progress was started with: on the form again when it ends (SPEC L2–L5, C5). */
  const loginUsername = useRef<string | undefined>(undefined);
  useEffect(() => {
    if (view.name === 'login') accountTab.current = null;
  }, [view.name]);
  // SPEC C1 "remember user name": the host saved it when the login began; back on the form after a
  // cancel or an ended login, the settings are read again so the name is there (not only after sign-out).
  const loginKey = view.name === 'login' ? view.key : null;
  useEffect(() => {
    if (loginKey === null || !api) return;
    let live = true;
    api.getSettings().then(
      (s) => live && setSettings((old) => (old && old.lastUsername === s.lastUsername && old.rememberUsername === s.rememberUsername ? old : s)),
      () => {},
    );
    return () => {
      live = false;
    };
  }, [loginKey, api]);
  /**
   * SPEC L1–L5, C6: whether the user is still on the login (or step-up) whose device screens show:
   * set when a login shows its first step, cleared when the user leaves it (`leaveLogin`). An answer
   * that comes back after that (a step, an IB Key poll or a DSC+) is of a login left: it is dropped,
   * never shown over the form or over the next login's screens (the host answers such a step
   * SLS_ERR_NO_LOGIN_IN_PROGRESS or SLS_ERR_LOGIN_NOT_CURRENT, which would end the next login if it
   * were taken for its own).
   */
  const onLogin = useRef(false);
  /** The view now, for answers that come back later and must know whether theirs is still shown. */
  const viewNow = useLatest(view);
  const apiNow = useLatest(api);
  /**
   * SPEC L6, C5: the host refused a step of the login these device screens show (`shown`) with
   * SLS_ERR_LOGIN_NOT_CURRENT: another login is current now (started in another window, or here after
   * a page reload), and nothing was sent for this one. The state is read again, as at the start,
   * rather than the refusal shown on a screen that can go no further: signed in meanwhile, the
   * signed-in screen (the step-up's way back: Account security, asking to verify again); else the
   * login form, saying why. A screen the user went on to meanwhile stays.
   */
  const loginNotCurrent = useCallback(
    (e: ClientError, shown: string) => {
      const notice = describeError(e);
      const show = (session: SessionView | null) =>
        setView((v) => {
          if ((v.name !== 'select' && v.name !== 'challenge') || v.loginId !== shown) return v;
          if (!session) return { name: 'login', notice, key: Date.now(), ...(v.stepUp ? {} : { username: loginUsername.current }) };
          return v.stepUp ? { name: 'account', session, verify: { notice } } : { name: 'signed_in', session };
        });
      const a = apiNow.current;
      if (!a) return show(null);
      a.getSession().then(show, () => show(null));
    },
    [apiNow],
  );
  /**
   * SPEC C3, C5: the login form (`key`) asked for another server and the host answered
   * SLS_ERR_SIGN_OUT_FIRST: a session is held (signed in in another window, say). The form says so;
   * the session is read again, as for SLS_ERR_LOGIN_NOT_CURRENT: held, the signed-in screen (its
   * heading takes the focus; Sign out is there); none (signed out meanwhile), the form stays with its
   * message and the focus where it was, to try again. A form the user left meanwhile is not replaced.
   */
  const signOutFirst = useCallback(
    (key: number) => {
      const a = apiNow.current;
      if (!a) return;
      a.getSession().then(
        (session) => {
          if (session) setView((v) => (v.name === 'login' && v.key === key ? { name: 'signed_in', session } : v));
        },
        () => {},
      );
    },
    [apiNow],
  );
  const onEnded = useCallback((e: ClientError) => {
    if (!endsLogin(e)) return false;
    onLogin.current = false;
    const v = viewNow.current;
    if (e.code === 'SLS_ERR_LOGIN_NOT_CURRENT' && (v.name === 'select' || v.name === 'challenge')) {
      loginNotCurrent(e, v.loginId);
      return true;
    }
    // SPEC C6: a step-up that ended goes back to "Verify it's you", saying why; a login, to the form.
    setView((v) => {
      const back = v.name === 'select' || v.name === 'challenge' ? v.stepUp : undefined;
      return back
        ? { name: 'account', session: back, verify: { notice: describeError(e) } }
        : { name: 'login', notice: describeError(e), key: Date.now(), username: loginUsername.current };
    });
    return true;
  }, [viewNow, loginNotCurrent]);
  // One step at a time (SPEC L6: a response sent twice would count twice); an ended login's others dropped (`leave`).
  const action = useAction(onEnded, describeError, { oneAtATime: true });
  const { setError: setActionError, leave: leaveAction } = action;
  /**
   * The user leaves the login the device screens show (SPEC L1–L5, L7, C6): Cancel, its time limit,
   * signed in, the trading session of a step-up over. What is still on its way for it is dropped.
   */
  const leaveLogin = useCallback(() => {
    onLogin.current = false;
    leaveAction();
  }, [leaveAction]);

  const toLogin = useCallback((notice: Notice | null) => setView({ name: 'login', notice, key: Date.now() }), []);
  /**
   * The session ended while signed in (SPEC C1, C5): back to the login form saying when, the user
   * name prefilled when remembered. A late word about an old session never interrupts a login.
   */
  const sessionEnded = useCallback(
    (a: SlsApi, expiresAt: string | undefined) => {
      const show = () => {
        // On the step-up's device screens (SPEC C6): its login is left with the session it was for.
        if (signedInSession(viewNow.current)) leaveLogin();
        setView((v) => (signedInSession(v) ? { name: 'login', notice: sessionEndedText(expiresAt), key: Date.now() } : v));
      };
      // The user name this login remembered was saved after the app read its settings.
      a.getSettings().then(setSettings, () => {}).finally(show);
    },
    [viewNow, leaveLogin],
  );

  useEffect(() => {
    let off = () => {};
    connect()
      .then(async (a) => {
        const [s, i, session] = await Promise.all([a.getSettings(), a.getAppInfo(), a.getSession()]);
        setApi(a);
        setSettings(s);
        setInfo(i);
        const offEnded = a.on('sessionEnded', (p) => {
          if (p.reason === 'expired') sessionEnded(a, p.expiresAt);
        });
        // SPEC L8: slsd said the restart token no longer works (revoked, past the cut-off): the signed-in screen says so.
        const offAutoRestart = a.on('autoRestartChanged', (autoRestart) => {
          setView((v) => {
            const s = signedInSession(v);
            return s ? withSession(v, { ...s, autoRestart }) : v;
          });
        });
        // SPEC C2 hot-plug: the drop-down and the challenge screen follow the card in and out.
        const offAttached = a.on('dscplusAttached', (p) => {
          setView((v) => withCardConnected(v, p.serial, true));
          setCards((c) => (c.includes(p.serial) ? c : [...c, p.serial]));
        });
        const offDetached = a.on('dscplusDetached', (p) => {
          setView((v) => withCardConnected(v, p.serial, false));
          setCards((c) => c.filter((x) => x !== p.serial));
        });
        // The cards already plugged in (a card of someone else's is named on the typing screen, C2).
        a.getConnectedCards().then(
          (r) => setCards((c) => [...new Set([...c, ...r.serials])]),
          () => {},
        );
        off = () => {
          offEnded();
          offAutoRestart();
          offAttached();
          offDetached();
        };
        if (session) return setView({ name: 'signed_in', session });
        // SPEC L8: an auto-restart tried at this start and not signed in says why on the form, not a plain form.
        const autoRestart = await a.getAutoRestartAttempt().catch(() => null);
        setView({ name: 'login', notice: null, key: Date.now(), ...(autoRestart ? { autoRestart } : {}) });
      })
      .catch((e: unknown) => setView({ name: 'fatal', error: describeConnectError(e) }));
    return () => off();
  }, [connect, toLogin, sessionEnded]);

  // SPEC C1, C5: a notice shortly before the session ends; at its end (or on waking past it) the
  // host is asked, which drops the session and answers null.
  const signedIn = signedInSession(view);
  const phase = useSessionPhase(signedIn?.expiresAt ?? null);
  useEffect(() => {
    if (phase !== 'ended' || !api || !signedIn) return;
    const expiresAt = signedIn.expiresAt;
    api
      .getSession()
      .then((s) => {
        if (!s) return sessionEnded(api, expiresAt);
        // slsd extended it: carry on with the new expiry.
        if (s.expiresAt !== expiresAt) setView((v) => withSession(v, s));
      })
      .catch(() => sessionEnded(api, expiresAt));
  }, [phase, api, signedIn, sessionEnded]);

  useEffect(() => {
    document.documentElement.dataset.theme = settings?.theme ?? 'dark';
  }, [settings?.theme]);
  // UI.md "More: language": the words and <html lang> follow the choice (null: the system's language).
  useEffect(() => {
    if (settings) applyLanguage(settings.language);
  }, [settings]);

  // SPEC L2–L5, C5: the login's own time limit (slsd's, 5 minutes) while its device screen is left
  // open: a polite notice in its last minute; at its end the login form says so, with the user name
  // typed for it, so the password is all there is to type (the step-up returns to "Verify it's you").
  // The host lets go of the login and tells slsd, as a Cancel does.
  const loginExpiresAt = view.name === 'select' || view.name === 'challenge' ? view.expiresAt : null;
  /** The login the device screens show (SPEC L6, C5): every step sent from them names it. */
  const shownLoginId = view.name === 'select' || view.name === 'challenge' ? view.loginId : null;
  const loginPhase = useSessionPhase(loginExpiresAt, LOGIN_WARNING_MS);
  useEffect(() => {
    // By the clock too: the phase of a login that ended before may not have caught up with this one yet.
    if (loginPhase !== 'ended' || !api || !loginExpiresAt || !shownLoginId || Date.now() < Date.parse(loginExpiresAt)) return;
    leaveLogin();
    void api.cancelLogin({ loginId: shownLoginId }).catch(() => {});
    setView((v) => {
      if ((v.name !== 'select' && v.name !== 'challenge') || v.expiresAt !== loginExpiresAt) return v;
      return v.stepUp
        ? { name: 'account', session: v.stepUp, verify: { notice: loginExpiredText() } }
        : { name: 'login', notice: loginExpiredText(), key: Date.now(), username: loginUsername.current };
    });
  }, [loginPhase, loginExpiresAt, shownLoginId, api, leaveLogin]);

  const applyStep = useCallback(
    (step: LoginStepView) => {
      setStatus(null);
      // Signed in: the login is over; another answer of it still on its way is not a step to show (SPEC L5).
      if (step.status === 'signed_in') leaveLogin();
      setView((v) => {
        // SPEC C6: a step of the step-up (from Account security, or its device screens) keeps the way back there.
        const back = v.name === 'account' ? v.session : v.name === 'select' || v.name === 'challenge' ? v.stepUp : undefined;
        if (step.status !== 'signed_in') {
          const screen: DeviceStep = { loginId: step.loginId, expiresAt: step.expiresAt, ...(back ? { stepUp: back } : {}) };
          if (step.status === 'select_device') return { name: 'select', devices: step.devices, preselectedDeviceId: step.preselectedDeviceId, ...screen };
          return { name: 'challenge', devices: step.devices, challenge: step.challenge, ...screen };
        }
        // Signed in to the Client Portal: the host keeps that session; the trading session stays the one shown.
        return back ? { name: 'account', session: back } : { name: 'signed_in', session: step.session };
      });
    },
    [leaveLogin],
  );

  // The IB Key poll and the DSC+ wait name the login whose challenge shows (SPEC L6, C5).
  const waitForApproval = useCallback(
    (options: { quick?: boolean } = {}) => {
      if (!api || !shownLoginId) return Promise.reject(new Error('not connected'));
      return api.waitForApproval({ ...options, loginId: shownLoginId });
    },
    [api, shownLoginId],
  );
  const onCardStatus = useCallback((listener: (s: DscPlusStatus) => void) => (api ? api.on('dscplusStatus', listener) : () => {}), [api]);
  // The IB Key poll and the DSC+ stop when their screen goes (their `live`); between Cancel and the
  // form, and after an error that ended the login, what they bring is of a login left (SPEC L4, L7, C2).
  const onApproved = useCallback(
    (approved: Extract<ApprovalView, { status: 'signed_in' }>) => {
      if (onLogin.current) applyStep(approved);
    },
    [applyStep],
  );
  const onApprovalError = useCallback(
    (e: unknown) => {
      if (!onLogin.current) return;
      const ce = toClientError(e);
      if (onEnded(ce)) leaveAction();
      else {
        // SPEC D5, L5, L2: the IB Key taken out of use while its push waited: the host read the login's
        // step again (the drop-down, the devices there are now); that screen shows, with why.
        if (ce.loginStep) applyStep(ce.loginStep);
        setActionError(describeError(ce));
      }
    },
    [onEnded, leaveAction, setActionError, applyStep],
  );
  const onApprovalResumed = useCallback(() => {
    if (onLogin.current) setActionError(null);
  }, [setActionError]);
  // SPEC C6, C5: Cancel on the step-up's device screens (Escape too: each screen maps it to its Cancel) goes back to Account security.
  const stepUpBack = view.name === 'select' || view.name === 'challenge' ? (view.stepUp ?? null) : null;
  const cancelStepUp = useCallback(() => {
    if (!api || !stepUpBack || !shownLoginId) return;
    leaveLogin();
    void api.cancelLogin({ loginId: shownLoginId }).finally(() => setView({ name: 'account', session: stepUpBack, verify: { notice: null } }));
  }, [api, stepUpBack, shownLoginId, leaveLogin]);

  if (view.name === 'starting' || !api || !settings) {
    if (view.name === 'fatal') {
      return (
        <main className="screen" aria-labelledby="fatal-t">
          <h1 id="fatal-t">SLS Desktop</h1>
          <p className="error" role="alert">
            <strong>{view.error.message}</strong> {view.error.action}
          </p>
        </main>
      );
    }
    return (
      <main className="screen starting" aria-busy="true">
        <Spinner label={t('starting')} />
      </main>
    );
  }

  const setTheme = async (theme: Theme) => setSettings(await api.setSettings({ theme }));
  const setLanguage = async (language: Language | null) => setSettings(await api.setSettings({ language }));
  const footer = (
    <MoreMenu
      api={api}
      appInfo={info}
      theme={settings.theme}
      onTheme={(theme) => void setTheme(theme)}
      language={settings.language}
      onLanguage={(language) => void setLanguage(language)}
      onReset={async (message) => {
        setSettings(await api.getSettings());
        toLogin({ message, action: '', tone: 'info' });
      }}
    />
  );

  /** Signing out (the button), or after a step that ended the session (a device reported, a sharing ended): the login form, with why. */
  const signOut = (notice: Notice | null) => {
    setSigningOut(true);
    void api.signOut().finally(async () => {
      setSigningOut(false);
      setSettings(await api.getSettings());
      toLogin(notice);
    });
  };

  /**
   * A step of the login. Refused with the step the login is at now (SPEC L2, L5: a device gone, such
   * as an IB Key moved to another phone), that step's screen shows, with the devices there are now and the error.
   * Only one at a time, and only while the user is on the login: after Cancel, nothing more is sent
   * for it; an answer that comes back after the user left it is dropped (`useAction`'s `leave`).
   */
  const loginStep = (call: () => Promise<LoginStepView>) =>
    onLogin.current ? action.run((live) => withCurrentLoginStep(call, (step) => live() && applyStep(step))()) : Promise.resolve(undefined);
  // Each names the login the screen shows (SPEC L6, C5): the host refuses it should another be current.
  const loginId = shownLoginId ?? '';
  const select = (deviceId: string, mode: 'default' | 'offline' = 'default') =>
    void loginStep(() => api.selectDevice({ loginId, deviceId, mode })).then((s) => s && applyStep(s));
  // SPEC L7, C5: the steps still on their way are dropped from the press on, not when the form is back.
  const cancel = stepUpBack
    ? cancelStepUp
    : () => {
        leaveLogin();
        void api.cancelLogin({ loginId }).finally(() => toLogin(null));
      };

  switch (view.name) {
    case 'login':
      return (
        <LoginScreen
          key={`${view.key}-${settings.lastUsername ?? ''}`}
          api={api}
          settings={settings}
          notice={view.notice ?? (view.autoRestart ? { ...autoRestartFailedText(view.autoRestart), tone: 'info' } : null)}
          {...(view.username !== undefined ? { username: view.username } : {})}
          onStep={(step, username) => {
            loginUsername.current = username;
            // SPEC L1: a new login, the one whose answers the device screens take from now on.
            onLogin.current = true;
            applyStep(step);
          }}
          onSettings={setSettings}
          onSignOutFirst={() => signOutFirst(view.key)}
          footer={footer}
        />
      );
    case 'select':
      return (
        <SelectDeviceScreen
          devices={view.devices}
          preselectedDeviceId={view.preselectedDeviceId}
          busy={action.busy}
          error={action.error}
          onSelect={(d) => select(d)}
          onCancel={cancel}
          stepUp={view.stepUp !== undefined}
          notice={<LoginEndingNotice phase={loginPhase} />}
        />
      );
    case 'challenge': {
      const c = view.challenge;
      const device = view.devices.find((d) => d.id === c.deviceId);
      return (
        <ChallengeScreen
          key={JSON.stringify(c)}
          challenge={c}
          deviceLabel={device ? deviceLabel(device.label, device.kind) : ''}
          canSwitch={view.devices.length > 1}
          busy={action.busy}
          error={action.error}
          status={status}
          onRespond={(response) => void loginStep(() => api.respond({ loginId: view.loginId, response })).then((s) => s && applyStep(s))}
          cardSerial={c.kind === 'dscplus' && device?.connected ? (device.serial ?? null) : null}
          otherCard={c.kind === 'dscplus' && !device?.connected ? (cards.find((serial) => serial !== device?.serial) ?? null) : null}
          onCardStatus={onCardStatus}
          onCardBlocked={() => {
            // SPEC H2: a blocked card cannot answer; offer the user's other devices, saying why.
            const others = view.devices.filter((d) => d.id !== c.deviceId);
            if (others.length === 0) return;
            setView({ name: 'select', devices: others, preselectedDeviceId: others[0]!.id, stepUp: view.stepUp, loginId: view.loginId, expiresAt: view.expiresAt });
            action.setError({ message: t('cardBlocked.message'), action: t('cardBlocked.action') });
          }}
          onSwitch={() => {
            // A card answering by itself is told to stop (CANCEL) before the drop-down shows.
            if (c.kind === 'dscplus' && device?.connected) void api.selectDevice({ loginId: view.loginId, deviceId: c.deviceId, mode: 'offline' }).catch(() => {});
            action.setError(null);
            setView({ name: 'select', devices: view.devices, preselectedDeviceId: c.deviceId, stepUp: view.stepUp, loginId: view.loginId, expiresAt: view.expiresAt });
          }}
          onCancel={cancel}
          notice={<LoginEndingNotice phase={loginPhase} />}
          onSelectAgain={(mode) => select(c.deviceId, mode)}
          waitForApproval={waitForApproval}
          onApproved={onApproved}
          onApprovalError={onApprovalError}
          onApprovalResumed={onApprovalResumed}
          onResend={() =>
            void loginStep(() => api.resendCode({ loginId: view.loginId })).then((s) => {
              if (!s) return;
              applyStep(s);
              setStatus(t('newCodeSent'));
            })
          }
        />
      );
    }
    case 'signed_in':
      return (
        <SignedInScreen
          session={view.session}
          signingOut={signingOut}
          footer={footer}
          notice={<SessionEndingNotice expiresAt={view.session.expiresAt} phase={phase} />}
          onAccount={() => setView({ name: 'account', session: view.session })}
          onSignOut={() => signOut(null)}
        />
      );
    case 'account':
      return (
        <AccountScreen
          api={api}
          session={view.session}
          footer={footer}
          notice={<SessionEndingNotice expiresAt={view.session.expiresAt} phase={phase} />}
          verify={view.verify ?? null}
          onVerifyStep={(step) => {
            // SPEC C6: the password of "Verify it's you" answered after the user went back from
            // Account security: the step-up is not shown over the screen they went to.
            if (viewNow.current.name !== 'account') return;
            leaveAction();
            onLogin.current = true;
            applyStep(step);
          }}
          onBack={() => setView({ name: 'signed_in', session: view.session })}
          onSignedOut={signOut}
          section={accountTab.current ?? undefined}
          onSection={(section) => (accountTab.current = section)}
        />
      );
    default:
      return null;
  }
}
