// The Account screens apply a step's answer only while the user is still on the panel or the step
// that sent it (SPEC C5, C6): a step on its way when the user left it — Cancel, Start over, another
// serial, another tab, Back — comes back late. It must show no error on the screen the user went to,
// change nothing there (no sign-out, no device screens of a Client Portal login left, no limit switched),
// and a success that slsd made true (a withdrawal confirmed, W4; a device activated, D6) is said
// quietly on its own panel only. A step submitted twice before the panel re-rendered goes once: a
// confirmation's wrong response counts towards its 3 and the lock (L6), a withdrawal is confirmed
// once (W4), a mobile code is sent and counted once (P1, P2).
//
// The real renderer (App) runs in Debian's Chromium on the fake host of held-host.harness.tsx, the
// test holding the Account steps' answers and releasing them in the order it chooses, as
// late-login-answer.test.ts does for the login's.
import type { Browser, Page } from '@playwright/test';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ConfirmationChallenge, DevicesOverview, MobileNumberStatus, OptOutStatus, SharingView, WithdrawalOverview, WithdrawalResponse } from '../core/account-api.ts';
import type { ClientError, LoginStepView, SessionView } from '../core/contract/index.ts';
import { en } from './i18n/en/index.ts';
import type { HeldHost } from './held-host.harness.tsx';
import { heldHostBundle, launchChromium, openHeldApp } from './held-app.harness.ts';

let bundle: string;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  bundle = await heldHostBundle();
  browser = await launchChromium();
}, 60_000);
afterAll(async () => {
  await browser?.close();
});

const errors: string[] = [];
beforeEach(async () => {
  errors.length = 0;
  page = await openHeldApp(browser, bundle, errors);
  // Every list the Account panels read answers at once (a test may reply otherwise before it opens them).
  await reply('getPortalSession', null);
  await reply('getWithdrawals', WITHDRAWALS);
  await reply('getDevices', DEVICES);
  await reply('getSharings', { requests: [] });
  await reply('getOptOut', OPTED_IN);
  await reply('getMobileNumber', NO_NUMBER);
});
afterEach(async () => {
  await page?.close();
  expect(errors).toEqual([]);
});

type Calls = ReturnType<HeldHost['calls']>;
type Held = { heldHost: HeldHost };
const host = () => page.evaluate(() => (window as unknown as Held).heldHost.calls());

/** The index of the first call named `name` not answered yet, waiting for it to be made. */
async function pending(name: string): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const at = (await host()).findIndex((c) => c.name === name && !c.answered);
    if (at >= 0) return at;
    await page.waitForTimeout(10);
  }
  throw new Error(`no ${name} call waits: ${JSON.stringify(await host())}`);
}

const answer = (index: number, value: unknown) => page.evaluate(([i, v]) => (window as unknown as Held).heldHost.answer(i as number, v), [index, value] as const);
const refuse = (index: number, error: ClientError) => page.evaluate(([i, e]) => (window as unknown as Held).heldHost.refuse(i as number, e as ClientError), [index, error] as const);
const reply = (name: string, value: unknown) => page.evaluate(([n, v]) => (window as unknown as Held).heldHost.reply(n as string, v), [name, value] as const);
const hold = (...names: string[]) => page.evaluate((ns) => ns.forEach((n) => (window as unknown as Held).heldHost.hold(n)), names);
const named = (calls: Calls, name: string) => calls.filter((c) => c.name === name);

/** Long enough for a late answer to be rendered, were it taken (a promise, a render, a paint). */
const settled = () => page.waitForTimeout(200);

/** Two submits of `form` in one go, before it re-renders (a double Enter, a double click on a slow machine). */
async function submitTwice(selector: string): Promise<void> {
  await page.evaluate((sel) => {
    const form = document.querySelector(sel) as HTMLFormElement | null;
    if (!form) throw new Error(`no form ${sel}`);
    form.requestSubmit();
    form.requestSubmit();
  }, selector);
}

const now = () => new Date().toISOString();
const in5min = () => new Date(Date.now() + 5 * 60_000).toISOString();
const GOLD = { id: 'dev-gold', kind: 'gold', label: 'Gold device (…6507)' } as const;

const SESSION: SessionView = {
  expiresAt: new Date(Date.now() + 8 * 3600_000).toISOString(),
  user: { id: 'u1', username: 'demo.gold', displayName: 'Goldie' },
  account: { id: 'a1', number: 'U1000004', primaryUser: 'demo.gold' },
  authenticatedWith: { deviceId: GOLD.id, kind: 'gold', label: GOLD.label },
  clientKind: 'trading_platform',
  access: 'full',
  restrictions: [],
  restrictionDetails: [],
  autoRestart: { state: 'off', reason: 'not_set_up' },
};

function confirmation(id: string, code = '314159'): ConfirmationChallenge {
  return {
    confirmationId: id,
    expiresAt: in5min(),
    challenge: { type: 'response_code', deviceId: GOLD.id, kind: 'gold', challenge: code, responseLength: 6, responseAlphabet: 'digits', pinOnDevice: false },
  };
}

const WITHDRAWALS: WithdrawalOverview = {
  withdrawnTodayCents: 0,
  withdrawnFiveBusinessDaysCents: 0,
  windows: { dayStart: now(), fiveBusinessDaysStart: now() },
  devices: [{ deviceId: GOLD.id, kind: 'gold', label: GOLD.label, perDayCents: null, perFiveBusinessDaysCents: null, availableNowCents: null }],
  recent: [],
};

const WITHDRAWN: WithdrawalResponse = {
  withdrawal: { id: 'w1', accountId: 'a1', amountCents: 10_000, idempotencyKey: 'key-00000001', confirmedWith: { deviceId: GOLD.id, kind: 'gold', label: GOLD.label }, confirmedAt: now() },
  replayed: false,
};

const DEVICES: DevicesOverview = {
  devices: [
    {
      id: GOLD.id,
      kind: 'gold',
      name: 'Gold',
      label: GOLD.label,
      status: 'active',
      serial: '6507',
      securityLevel: 2,
      legacy: false,
      physical: true,
      activatedAt: null,
      lastUsedAt: null,
      ownership: 'own',
    },
  ],
  orders: [],
  dscPlus: { eligible: false, reason: 'A Digital Security Card+ needs a balance of USD 500,000.' },
};

const SHARING: SharingView = {
  id: 'req-1',
  state: 'started',
  requester: { username: 'demo.gold', displayName: 'Goldie' },
  owner: { username: 'olivia', displayName: 'Olivia Owner' },
  device: { id: 'dev-owner', kind: 'gold', label: 'Gold device (…1111)' },
  needsCompliance: false,
  requesterDevices: [],
  createdAt: now(),
};

const OPTED_IN: OptOutStatus = { username: 'demo.gold', optedOut: false, optedOutAt: null, canChange: true, primaryUser: null };
const NO_NUMBER: MobileNumberStatus = { number: null, verified: false, verifiedAt: null, pending: null };

const WRONG: ClientError = { code: 'SLS_ERR_WRONG_RESPONSE', message: 'Wrong response.', attemptsLeft: 2 };
const REFUSED: ClientError = { code: 'SLS_ERR_SERVICE_UNAVAILABLE', message: 'The server is busy.' };

/** The screen shows no error line (role=alert with text). */
async function expectNoError(): Promise<void> {
  expect(await page.locator('[role="alert"] .error').count()).toBe(0);
}

const button = (name: string) => page.getByRole('button', { name, exact: true });
const accountButton = () => button(en.common.signedIn.accountSecurity);

/**
 * Signed in (a session opened with the Gold device, SPEC C6: these screens open at once), on Account
 * security, on `tab`; without a second factor in the session, on "Verify it's you".
 */
async function onAccount(tab: keyof typeof en.account.sections = 'withdraw', session: SessionView = SESSION): Promise<void> {
  await page.getByLabel(en.login.form.username, { exact: true }).fill(session.user.username);
  await page.getByLabel(en.login.form.password, { exact: true }).fill('secret-password');
  await page.getByLabel(en.login.form.password, { exact: true }).press('Enter');
  await answer(await pending('login'), { status: 'signed_in', session } satisfies LoginStepView);
  await accountButton().click();
  if (session.authenticatedWith === null) return;
  await button(en.account.sections[tab]).click();
  await page.getByRole('heading', { name: en.account.sections[tab], level: 2 }).waitFor();
}

const responseField = () => page.locator('input[name="confirm-response"]');

/** Withdraw USD 100: the challenge answered, its confirmation waiting. Gives the confirmWithdrawal call. */
async function withdrawalSent(): Promise<number> {
  await hold('confirmWithdrawal');
  await reply('startWithdrawal', confirmation('conf-w'));
  await onAccount('withdraw');
  await page.getByLabel(en.account.withdraw.amount, { exact: true }).fill('100');
  await button(en.account.continue).click();
  await responseField().fill('123456');
  await responseField().press('Enter');
  return pending('confirmWithdrawal');
}

/** A device's serial, its activation challenge answered and waiting. Gives the completeDeviceActivation call. */
async function activationSent(): Promise<number> {
  await hold('completeDeviceActivation');
  await reply('startDeviceActivation', confirmation('conf-a'));
  await onAccount('devices');
  await page.getByLabel(en.account.activate.serial, { exact: true }).fill('12345678');
  await button(en.account.continue).click();
  await responseField().fill('123456');
  await responseField().press('Enter');
  return pending('completeDeviceActivation');
}

/** A sharing request started with the owner's credentials, the owner's device's response waiting. Gives the answerSharing call. */
async function sharingAnswerSent(): Promise<number> {
  await hold('answerSharing');
  await reply('startSharing', { request: SHARING, confirmation: confirmation('conf-s') });
  await onAccount('share');
  await page.getByLabel(en.account.share.ownerUsername, { exact: true }).fill('olivia');
  await page.getByLabel(en.account.share.ownerPassword, { exact: true }).fill('owner-password');
  await button(en.account.continue).click();
  await responseField().fill('123456');
  await responseField().press('Enter');
  return pending('answerSharing');
}

describe('a late answer of an Account step the user left shows nothing where the user went (SPEC C5, C6)', () => {
  it("Verify it's you: password sent, Cancel, Account security again, the old Client Portal login answers with its challenge: Verify it's you stays (C6)", async () => {
    await hold('portalLogin');
    await onAccount('withdraw', { ...SESSION, authenticatedWith: null });
    await page.getByLabel(en.account.verify.password, { exact: true }).fill('secret-password');
    await page.getByLabel(en.account.verify.password, { exact: true }).press('Enter');
    const old = await pending('portalLogin');

    await button(en.account.verify.cancel).click();
    await accountButton().click();
    await page.getByRole('heading', { name: en.account.verify.title }).waitFor();

    await answer(old, { status: 'challenge', loginId: 'login_old', expiresAt: in5min(), devices: [{ ...GOLD, lastUsed: true, connected: false }], challenge: confirmation('x').challenge } satisfies LoginStepView);
    await settled();
    expect(await page.getByRole('heading', { name: en.account.verify.title }).count()).toBe(1);
    expect(await page.locator('output.challenge').count()).toBe(0);
    await expectNoError();
    expect(await button(en.account.continue).isEnabled()).toBe(true);
  });

  it("Verify it's you: password sent, Cancel, Account security again, the old login refused: no error on the new Verify it's you", async () => {
    await hold('portalLogin');
    await onAccount('withdraw', { ...SESSION, authenticatedWith: null });
    await page.getByLabel(en.account.verify.password, { exact: true }).fill('wrong-password');
    await page.getByLabel(en.account.verify.password, { exact: true }).press('Enter');
    const old = await pending('portalLogin');
    await button(en.account.verify.cancel).click();
    await accountButton().click();
    await page.getByRole('heading', { name: en.account.verify.title }).waitFor();

    await refuse(old, { code: 'SLS_ERR_INVALID_CREDENTIALS', message: 'Wrong user name or password.' });
    await settled();
    await expectNoError();
  });

  it('withdrawal: response sent, Cancel, the confirmation refused late: no error on the amount form, Continue free at once (W1, L6)', async () => {
    const old = await withdrawalSent();
    await button(en.account.withdraw.cancel).click();
    await page.getByLabel(en.account.withdraw.amount, { exact: true }).waitFor();
    // Not busy with the challenge left.
    expect(await button(en.account.continue).isEnabled()).toBe(true);

    await refuse(old, WRONG);
    await settled();
    await expectNoError();
    expect(await responseField().count()).toBe(0);
    expect(await button(en.account.continue).isEnabled()).toBe(true);
  });

  it('withdrawal: response sent, Cancel, a new amount typed, the confirmation taken late: said, the limits read again, the new amount kept (W4)', async () => {
    const old = await withdrawalSent();
    await button(en.account.withdraw.cancel).click();
    const amount = page.getByLabel(en.account.withdraw.amount, { exact: true });
    await amount.fill('250');
    const reads = named(await host(), 'getWithdrawals').length;

    await answer(old, WITHDRAWN);
    await page.getByText('Withdrawal of').waitFor();
    await settled();
    await expectNoError();
    expect(await amount.inputValue()).toBe('250');
    expect(named(await host(), 'getWithdrawals').length).toBe(reads + 1);
  });

  it('withdrawal: response sent, another tab, refused over the limit late: nothing switched, no error, nothing read for the panel left (W2)', async () => {
    const old = await withdrawalSent();
    await button(en.account.sections.devices).click();
    await page.getByRole('heading', { name: en.account.devices.title, level: 2 }).waitFor();
    const reads = named(await host(), 'getWithdrawals').length;

    await refuse(old, { code: 'SLS_ERR_WITHDRAWAL_LIMIT', message: 'Over the limit of this device.' });
    await settled();
    await expectNoError();
    expect(named(await host(), 'getWithdrawals').length).toBe(reads);
  });

  it('device activation: response sent, another serial, the activation refused late: no error on the serial form (D6)', async () => {
    const old = await activationSent();
    await button(en.account.activate.otherSerial).click();
    await page.getByLabel(en.account.activate.serial, { exact: true }).waitFor();

    await refuse(old, WRONG);
    await settled();
    await expectNoError();
    expect(await button(en.account.continue).isEnabled()).toBe(true);
  });

  it('sharing: the owner’s response sent, Start over, refused late: no error on the owner’s form (S3, L6)', async () => {
    const old = await sharingAnswerSent();
    await button(en.account.share.startOver).click();
    await page.getByLabel(en.account.share.ownerUsername, { exact: true }).waitFor();

    await refuse(old, WRONG);
    await settled();
    await expectNoError();
    expect(await responseField().count()).toBe(0);
    expect(await button(en.account.continue).isEnabled()).toBe(true);
  });

  it('devices: the session’s own device reported, Back, the report answers late: the signed-in screen stays, no sign-out (D8)', async () => {
    await hold('reportDevice');
    await onAccount('devices');
    await page.locator('button', { hasText: en.account.devices.report }).click();
    await button(en.account.report.submit).click();
    const old = await pending('reportDevice');
    await button(en.account.screen.back).click();
    await accountButton().waitFor();

    await answer(old, { device: { ...DEVICES.devices[0], status: 'lost' }, replacement: null });
    await settled();
    expect(await accountButton().count()).toBe(1);
    expect(named(await host(), 'signOut')).toHaveLength(0);
    expect(await page.getByRole('button', { name: en.login.form.submit }).count()).toBe(0);
  });

  it('opt-out: confirmed, Cancel, refused late: no error on the panel (O1)', async () => {
    await hold('optOut');
    await onAccount('sls');
    await button(en.account.sls.optOut).click();
    await button(en.account.sls.confirm.optOut).click();
    const old = await pending('optOut');
    await button(en.account.sls.confirm.cancel).click();

    await refuse(old, REFUSED);
    await settled();
    await expectNoError();
    expect(await button(en.account.sls.optOut).isEnabled()).toBe(true);
  });
});

describe('an Account step goes once, however often it is submitted (SPEC W4, L6, S3, D6, P1, P2, C6)', () => {
  it("Verify it's you: two submits before the panel re-renders send one Client Portal login", async () => {
    await hold('portalLogin');
    await onAccount('withdraw', { ...SESSION, authenticatedWith: null });
    await page.getByLabel(en.account.verify.password, { exact: true }).fill('secret-password');
    await submitTwice('form:has(input[name="password"])');
    await pending('portalLogin');
    await settled();
    expect(named(await host(), 'portalLogin')).toHaveLength(1);
  });

  it('withdrawal confirmation: two submits send one confirmation (W4)', async () => {
    await hold('confirmWithdrawal');
    await reply('startWithdrawal', confirmation('conf-w'));
    await onAccount('withdraw');
    await page.getByLabel(en.account.withdraw.amount, { exact: true }).fill('100');
    await button(en.account.continue).click();
    await responseField().fill('123456');
    await submitTwice('form.response-form');
    await pending('confirmWithdrawal');
    await settled();
    expect(named(await host(), 'confirmWithdrawal')).toHaveLength(1);
  });

  it('withdrawal: two submits of the amount ask for one challenge (W1)', async () => {
    await hold('startWithdrawal');
    await onAccount('withdraw');
    await page.getByLabel(en.account.withdraw.amount, { exact: true }).fill('100');
    await submitTwice('form:has(input[name="amount"])');
    await pending('startWithdrawal');
    await settled();
    expect(named(await host(), 'startWithdrawal')).toHaveLength(1);
  });

  it('device activation: two submits send one response (D6, L6)', async () => {
    await hold('completeDeviceActivation');
    await reply('startDeviceActivation', confirmation('conf-a'));
    await onAccount('devices');
    await page.getByLabel(en.account.activate.serial, { exact: true }).fill('12345678');
    await button(en.account.continue).click();
    await responseField().fill('123456');
    await submitTwice('form.response-form');
    await pending('completeDeviceActivation');
    await settled();
    expect(named(await host(), 'completeDeviceActivation')).toHaveLength(1);
  });

  it('sharing: two submits of the owner’s credentials start one request (S3)', async () => {
    await hold('startSharing');
    await onAccount('share');
    await page.getByLabel(en.account.share.ownerUsername, { exact: true }).fill('olivia');
    await page.getByLabel(en.account.share.ownerPassword, { exact: true }).fill('owner-password');
    await submitTwice('form:has(input[name="owner-username"])');
    await pending('startSharing');
    await settled();
    expect(named(await host(), 'startSharing')).toHaveLength(1);
  });

  it('sharing: two submits of the owner’s response send one (S3, L6: a wrong one would count twice)', async () => {
    await hold('answerSharing');
    await reply('startSharing', { request: SHARING, confirmation: confirmation('conf-s') });
    await onAccount('share');
    await page.getByLabel(en.account.share.ownerUsername, { exact: true }).fill('olivia');
    await page.getByLabel(en.account.share.ownerPassword, { exact: true }).fill('owner-password');
    await button(en.account.continue).click();
    await responseField().fill('123456');
    await submitTwice('form.response-form');
    await pending('answerSharing');
    await settled();
    expect(named(await host(), 'answerSharing')).toHaveLength(1);
  });

  it('sharing: Submit clicked twice before the review re-renders submits once (S3, S4)', async () => {
    await hold('submitSharing');
    await reply('startSharing', { request: SHARING, confirmation: confirmation('conf-s') });
    await reply('answerSharing', { ...SHARING, state: 'verified' });
    await onAccount('share');
    await page.getByLabel(en.account.share.ownerUsername, { exact: true }).fill('olivia');
    await page.getByLabel(en.account.share.ownerPassword, { exact: true }).fill('owner-password');
    await button(en.account.continue).click();
    await responseField().fill('123456');
    await responseField().press('Enter');
    await button(en.account.share.submit).waitFor();
    await page.evaluate((name) => {
      const submit = [...document.querySelectorAll('button')].find((b) => b.textContent === name)!;
      submit.click();
      submit.click();
    }, en.account.share.submit);
    await pending('submitSharing');
    await settled();
    expect(named(await host(), 'submitSharing')).toHaveLength(1);
  });

  it('sharing list: Withdraw clicked twice before the list re-renders withdraws once (S3, S5)', async () => {
    await hold('cancelSharing');
    await reply('getSharings', { requests: [{ ...SHARING, state: 'pending_compliance', needsCompliance: true }] });
    await onAccount('share');
    const label = `${en.account.share.current.withdraw}: ${SHARING.device.label}`;
    await page.getByRole('button', { name: label }).waitFor();
    await page.evaluate((name) => {
      const withdraw = [...document.querySelectorAll('button')].find((b) => b.getAttribute('aria-label') === name)!;
      withdraw.click();
      withdraw.click();
    }, label);
    await pending('cancelSharing');
    await settled();
    expect(named(await host(), 'cancelSharing')).toHaveLength(1);
  });

  it('opt-out: two submits of the confirmation opt out once (O1)', async () => {
    await hold('optOut');
    await onAccount('sls');
    await button(en.account.sls.optOut).click();
    await submitTwice('form.inline-form');
    await pending('optOut');
    await settled();
    expect(named(await host(), 'optOut')).toHaveLength(1);
  });

  it('mobile number: two submits send one code (P1, P2)', async () => {
    await hold('setMobileNumber');
    await onAccount('mobile');
    await page.getByLabel(en.account.mobile.number, { exact: true }).fill('+41 79 123 45 67');
    await submitTwice('form:has(input[name="mobile-number"])');
    await pending('setMobileNumber');
    await settled();
    expect(named(await host(), 'setMobileNumber')).toHaveLength(1);
  });

  it('mobile code: two submits check one code (P1, L6: a wrong one would count twice)', async () => {
    await hold('verifyMobileNumber');
    await reply('getMobileNumber', { ...NO_NUMBER, number: '+41791234567', pending: { maskedNumber: '…4567', deliverAt: now(), deferred: false, expiresAt: in5min(), resendAvailableAt: now() } });
    await onAccount('mobile');
    await page.getByLabel(en.account.mobile.code, { exact: true }).fill('123456');
    await submitTwice('form:has(input[name="sms-code"])');
    await pending('verifyMobileNumber');
    await settled();
    expect(named(await host(), 'verifyMobileNumber')).toHaveLength(1);
  });
});
