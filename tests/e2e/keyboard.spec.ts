/**
 * The keyboard and screen-reader paths through the login (SPEC C5, L2, L4, L7; UI.md screens 1–5),
 * against the fake slsd: Escape is each screen's Cancel, Enter continues on the device drop-down,
 * the focus lands on something on every screen change (never on <body>) and, after a step that
 * failed, back on the field to correct (its text selected) or the button pressed, unless the user
 * went elsewhere meanwhile; the server address opens in place and closes again, and an expired IB
 * Key notification no longer shows its number.
 */
import type { Locator, Page } from '@playwright/test';
import { FAKE_PASSWORD } from '../fixtures/fake-slsd.ts';
import { fillLogin } from '../fixtures/ui.ts';
import { expectAccessible } from './axe.ts';
import { expect, test } from './fixtures.ts';

/** The login form is back (after a Cancel): its button shows and the focus is in one of its fields. */
async function expectLoginForm(page: Page): Promise<void> {
  await expect(page.getByRole('button', { name: 'Log In' })).toBeVisible();
  await expect(page.locator('form input:focus')).toHaveCount(1);
}

/** What has the focus, for a message: "h1 IB Key", "body". */
function focused(page: Page): Promise<string> {
  return page.evaluate(() => {
    const d = (globalThis as unknown as { document: { activeElement: { tagName: string; textContent: string | null } | null } }).document;
    const a = d.activeElement;
    return a ? `${a.tagName.toLowerCase()} ${a.tagName === 'BODY' ? '' : (a.textContent ?? '').trim().slice(0, 40)}`.trim() : 'none';
  });
}

/** The selected part of a field's text, as [start, end]: after a refused response, all of it. */
function selection(field: Locator): Promise<[number | null, number | null]> {
  return field.evaluate((el) => {
    const input = el as unknown as { selectionStart: number | null; selectionEnd: number | null };
    return [input.selectionStart, input.selectionEnd];
  });
}

/** A response the device did not give: the expected one with its first character changed (to one every device can produce). */
const wrongOf = (right: string) => `${right.startsWith('1') ? '2' : '1'}${right.slice(1)}`;

/**
 * The host's answers to one call (`respond`, `selectDevice`) kept back while `hold` is on, until
 * `release`: the step waits as long as the test needs, to act meanwhile or to look at the screen
 * while it waits. The page's connection to the host goes through here; it reloads to connect again.
 */
async function answersOnHold(page: Page, call: string): Promise<{ hold(): void; release(): void }> {
  let held: (() => void)[] | null = null;
  await page.routeWebSocket(/\/contract$/, (ws) => {
    const host = ws.connectToServer();
    const ids = new Set<number>();
    ws.onMessage((m) => {
      const msg = JSON.parse(String(m)) as { id?: number; call?: string };
      if (msg.call === call && typeof msg.id === 'number') ids.add(msg.id);
      host.send(m);
    });
    host.onMessage((m) => {
      const msg = JSON.parse(String(m)) as { id?: number };
      if (held && typeof msg.id === 'number' && ids.has(msg.id)) held.push(() => ws.send(m));
      else ws.send(m);
    });
  });
  await page.reload();
  await page.getByRole('button', { name: 'Log In' }).waitFor();
  return {
    hold: () => void (held = []),
    release: () => {
      const answers = held ?? [];
      held = null;
      for (const send of answers) send();
    },
  };
}

test.describe('the login form after a refused login (SPEC L1, C5)', () => {
  test('the focus goes to the first empty field, else to the password, selected: typing it again replaces it', async ({ fakeDesktop: { page } }) => {
    const password = page.getByLabel('Password', { exact: true });
    await page.getByLabel('Username', { exact: true }).fill('demo.gold');
    await page.keyboard.press('Enter');
    await expect(page.getByRole('alert')).toHaveText('Enter your user name and password.');
    await expect(password, await focused(page)).toBeFocused();
    await page.keyboard.type('wrong');
    // Log In reached with Tab and pressed: disabled while it waits, it must not leave the focus on <body>.
    await page.getByRole('button', { name: 'Log In' }).focus();
    await page.keyboard.press('Enter');
    await expect(page.getByRole('alert')).toHaveText('The user name or password is incorrect. Check both and try again.');
    await expect(password, await focused(page)).toBeFocused();
    await page.keyboard.type(FAKE_PASSWORD);
    await expect(password).toHaveValue(FAKE_PASSWORD);
    // Submitted from the server address: its error is about it, and the focus stays there.
    await page.getByRole('button', { name: /change server address/i }).click();
    const server = page.getByLabel('Server address', { exact: true });
    await server.fill('http://sls.example.com');
    await server.press('Enter');
    await expect(page.getByRole('alert')).toContainText('The server address must use https://.');
    await expect(server).toBeFocused();
    await server.press('Escape');
    await password.press('Enter');
    await expect(page.getByLabel(/Enter the response/)).toBeFocused();
  });
});

test.describe('Escape cancels (SPEC C5)', () => {
  test('in the response field of a challenge it is Cancel: back to the login form', async ({ fakeDesktop: { page } }) => {
    await fillLogin(page, 'demo.gold', FAKE_PASSWORD);
    const field = page.getByLabel(/Enter the response/);
    await expect(field).toBeFocused();
    await field.fill('1234');
    await page.keyboard.press('Escape');
    await expectLoginForm(page);
  });

  test('on Select Second Factor Device it is Cancel: back to the login form', async ({ fakeDesktop: { page } }) => {
    await fillLogin(page, 'demo.m2fs', FAKE_PASSWORD);
    await expect(page.getByRole('combobox', { name: 'Device' })).toBeFocused();
    await page.keyboard.press('Escape');
    await expectLoginForm(page);
  });

  test('on the IB Key wait it is Cancel, and the focus starts on the heading (SPEC L7)', async ({ fakeDesktop: { page } }) => {
    await fillLogin(page, 'demo.ibkey', FAKE_PASSWORD);
    await expect(page.getByText('waiting for approval')).toBeVisible();
    await expect(page.getByRole('heading', { name: 'IB Key' }), await focused(page)).toBeFocused();
    await page.keyboard.press('Escape');
    await expectLoginForm(page);
  });
});

test.describe("the login's own time limit, the screen left open (SPEC L2–L5, C5)", () => {
  /** The fake slsd gives each login 5 minutes; this computer's clock runs fast for the renderer. */
  async function loginLeftOpen(page: Page, username: string): Promise<void> {
    await page.clock.install();
    await page.getByLabel('Username', { exact: true }).fill(username);
    await page.getByLabel('Password', { exact: true }).fill(FAKE_PASSWORD);
    // Not remembered on this computer: the name that comes back is the one typed for this login.
    await page.getByLabel('Remember username').uncheck();
    await page.getByRole('button', { name: 'Log In' }).click();
  }

  test('Select Second Factor Device: a polite notice in its last minute, then the login form says it expired, the user name still there, the focus in the password; Enter starts again', async ({ fakeDesktop: { page, fake } }) => {
    await loginLeftOpen(page, 'demo.m2fs');
    const select = page.getByRole('combobox', { name: 'Device' });
    await expect(select).toBeFocused();
    const ending = page.getByRole('status').filter({ hasText: 'This login ends' });
    await expect(ending).toHaveCount(0);

    await page.clock.fastForward('04:05');
    await expect(ending).toHaveText('This login ends in less than a minute. Finish it now, or log in again afterwards.');
    // Polite: the focus stays on the drop-down, the user can still finish.
    await expect(select).toBeFocused();
    await expectAccessible(page, 'select device, login ending');

    await page.clock.fastForward('01:00');
    await expect(page.getByRole('alert')).toHaveText('This login took too long and has expired. Enter your password to start again.');
    await expect(page.getByLabel('Username', { exact: true })).toHaveValue('demo.m2fs');
    await expect(page.getByLabel('Password', { exact: true })).toBeFocused();
    // The host let go of it, and told slsd.
    await expect.poll(() => fake.cancelledLogins().length).toBe(1);
    await expectAccessible(page, 'login after the login expired');

    // The renderer's clock back with the fake slsd's, and the password is all there is to type.
    await page.clock.setSystemTime(new Date());
    await page.keyboard.type(FAKE_PASSWORD);
    await page.keyboard.press('Enter');
    await expect(select).toBeFocused();
  });

  test('a challenge screen: the notice in its last minute, then back to the login form, the name still there', async ({ fakeDesktop: { page } }) => {
    await loginLeftOpen(page, 'demo.gold');
    const field = page.getByLabel(/Enter the response/);
    await expect(field).toBeFocused();
    await page.clock.fastForward('04:30');
    await expect(page.getByRole('status').filter({ hasText: 'This login ends' })).toHaveText('This login ends in less than a minute. Finish it now, or log in again afterwards.');
    await expect(field).toBeFocused();
    await page.clock.fastForward('00:31');
    await expect(page.getByRole('alert')).toHaveText('This login took too long and has expired. Enter your password to start again.');
    await expect(page.getByLabel('Username', { exact: true })).toHaveValue('demo.gold');
    await expect(page.getByLabel('Password', { exact: true })).toBeFocused();
  });
});

test.describe('Select Second Factor Device with the keyboard (SPEC L2, C5)', () => {
  test('the arrow keys change the device, Enter continues with it', async ({ fakeDesktop: { page } }) => {
    await fillLogin(page, 'demo.m2fs', FAKE_PASSWORD);
    const select = page.getByRole('combobox', { name: 'Device' });
    await expect(select).toBeFocused();
    await select.selectOption({ label: 'Security Code Card (…0042)' });
    await page.keyboard.press('ArrowUp');
    await expect(select).toHaveValue('d-ibkey');
    await page.keyboard.press('Enter');
    await expect(page.getByText('waiting for approval')).toBeVisible();
    await expect(page.getByRole('heading', { name: 'IB Key' })).toBeFocused();
    // Use another device: the drop-down takes the focus again, on the device just used.
    await page.getByRole('button', { name: 'Use another device' }).click();
    await expect(select).toBeFocused();
    await expect(select).toHaveValue('d-ibkey');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    await expect(page.getByText('Enter the codes at index numbers')).toBeVisible();
    await expect(page.getByLabel('Codes')).toBeFocused();
  });

  test('Continue pressed and failed: the focus goes back to the drop-down, on the device chosen, not to the page', async ({ fakeDesktop: { page, fake } }) => {
    await fillLogin(page, 'demo.m2fs', FAKE_PASSWORD);
    const select = page.getByRole('combobox', { name: 'Device' });
    await expect(select).toBeFocused();
    await page.keyboard.press('ArrowDown');
    await expect(select).toHaveValue('d-ibkey');
    await page.keyboard.press('Tab');
    const continueButton = page.getByRole('button', { name: 'Continue' });
    await expect(continueButton).toBeFocused();
    // The server goes away: the step fails and the screen stays, saying why. Continue, disabled while
    // it waited, must not have left the focus on <body>.
    await fake.close();
    await page.keyboard.press('Enter');
    await expect(page.getByRole('alert')).toContainText('Cannot reach the SLS server.');
    await expect(page.getByRole('heading', { name: 'Select Second Factor Device' })).toBeVisible();
    await expect(select, await focused(page)).toBeFocused();
    await expect(select).toHaveValue('d-ibkey');
    // Tab goes on from there, to Continue, not from the page's start or end.
    await page.keyboard.press('Tab');
    await expect(continueButton, await focused(page)).toBeFocused();
  });
});

test.describe('a second-factor response refused (SPEC L4, L6, C5)', () => {
  test('Submit reached with Tab and pressed on a wrong response: the focus goes back to the field, the response selected, and typing replaces it', async ({ fakeDesktop: { page, fake } }) => {
    await fillLogin(page, 'demo.gold', FAKE_PASSWORD);
    const field = page.getByLabel(/Enter the response/);
    await expect(field).toBeFocused();
    const right = fake.expectedResponse()!;
    await page.keyboard.type(wrongOf(right));
    await page.keyboard.press('Tab');
    const submit = page.getByRole('button', { name: 'Submit' });
    await expect(submit).toBeFocused();
    // Submit is disabled while slsd judges the response: it must not leave the focus on <body>.
    await page.keyboard.press('Enter');
    await expect(page.getByRole('alert')).toHaveText('That response is not correct. Check the code and try again: 2 attempts left in this login.');
    await expect(field, await focused(page)).toBeFocused();
    // The response refused is there to compare with the device's display, selected: typing replaces it.
    await expect(field).toHaveValue(wrongOf(right));
    expect(await selection(field)).toEqual([0, right.length]);
    await page.keyboard.type(right);
    await expect(field).toHaveValue(right);
    await page.keyboard.press('Enter');
    await expect(page.getByRole('heading', { name: 'Signed in' })).toBeVisible();
  });

  // The other screens with a response field: the same field, the same way back to it.
  const screens = [
    { username: 'demo.scc', title: 'Security Code Card' },
    { username: 'demo.sms', title: 'SMS code' },
    { username: 'demo.temp', title: 'Temporary passcode' },
    { username: 'demo.ibkey', title: 'IB Key — challenge code', offline: true },
  ];
  for (const { username, title, offline } of screens) {
    test(`${title}: Tab and Enter on Submit with a wrong response, the focus back on the field, the response selected`, async ({ fakeDesktop: { page, fake } }) => {
      await fillLogin(page, username, FAKE_PASSWORD);
      if (offline) await page.getByRole('button', { name: "Didn't receive the notification?" }).click();
      await expect(page.getByRole('heading', { name: title, exact: true })).toBeVisible();
      const field = page.locator('input[name="response"]');
      await expect(field).toBeFocused();
      const wrong = wrongOf(fake.expectedResponse()!);
      await page.keyboard.type(wrong);
      await page.keyboard.press('Tab');
      await expect(page.getByRole('button', { name: 'Submit' })).toBeFocused();
      await page.keyboard.press('Enter');
      await expect(page.getByRole('alert')).toContainText('That response is not correct.');
      await expect(field, await focused(page)).toBeFocused();
      await expect(field).toHaveValue(wrong);
      expect(await selection(field)).toEqual([0, wrong.length]);
    });
  }

  test('the user went on to another control while the response was checked: the focus stays there when it is refused', async ({ fakeDesktop: { page, fake } }) => {
    const answers = await answersOnHold(page, 'respond');
    await fillLogin(page, 'demo.gold', FAKE_PASSWORD);
    const field = page.getByLabel(/Enter the response/);
    await expect(field).toBeFocused();
    await page.keyboard.type(wrongOf(fake.expectedResponse()!));
    answers.hold();
    await page.keyboard.press('Enter');
    await expect(page.getByRole('button', { name: 'Checking…' })).toBeDisabled();
    // Tab passes the disabled Submit, on to Cancel.
    await page.keyboard.press('Tab');
    const cancel = page.getByRole('button', { name: 'Cancel' });
    await expect(cancel).toBeFocused();
    answers.release();
    await expect(page.getByRole('alert')).toContainText('That response is not correct.');
    await expect(page.getByRole('button', { name: 'Submit' })).toBeEnabled();
    await expect(cancel, await focused(page)).toBeFocused();
  });
});

test.describe('IB Key notification expired (SPEC L7, C5)', () => {
  test('the old number goes; "Send a new notification" takes the focus and brings a new one', async ({ fakeDesktop: { page, fake } }) => {
    await fillLogin(page, 'demo.ibkey', FAKE_PASSWORD);
    const number = page.locator('.challenge.match');
    await expect(number).toHaveText(/^\d\d$/);
    await expect(page.getByText('A notification was sent to iPhone of Ivy. Open it and choose')).toBeVisible();
    fake.answerPush('expired');
    await expect(page.getByText('The notification has expired.')).toBeVisible();
    await expect(number).toHaveCount(0);
    await expect(page.getByText('Open it and choose')).toHaveCount(0);
    const sendNew = page.getByRole('button', { name: 'Send a new notification' });
    await expect(sendNew).toBeFocused();
    await expect(sendNew).toHaveAccessibleDescription('The notification has expired.');
    await expectAccessible(page, 'IB Key notification expired');
    await page.keyboard.press('Enter');
    await expect(page.getByText('waiting for approval')).toBeVisible();
    await expect(number).toHaveText(/^\d\d$/);
    fake.answerPush('approved');
    await expect(page.getByRole('heading', { name: 'Signed in' })).toBeVisible();
  });

  test('"Send a new notification" or "Didn\'t receive the notification?" pressed and failed: the focus goes back to the one pressed, not to the page', async ({ fakeDesktop: { page, fake } }) => {
    const answers = await answersOnHold(page, 'selectDevice');
    await fillLogin(page, 'demo.ibkey', FAKE_PASSWORD);
    await expect(page.getByText('waiting for approval')).toBeVisible();
    fake.answerPush('expired');
    const sendNew = page.getByRole('button', { name: 'Send a new notification' });
    await expect(sendNew).toBeFocused();
    // The server goes away: the new notification cannot be sent, and the screen stays, saying why.
    await fake.close();
    for (const button of [sendNew, page.getByRole('button', { name: "Didn't receive the notification?" })]) {
      await button.focus();
      answers.hold();
      await page.keyboard.press('Enter');
      // Disabled while it waits (its answer held back here).
      await expect(button).toBeDisabled();
      answers.release();
      await expect(page.getByRole('alert')).toContainText('Cannot reach the SLS server.');
      await expect(button).toBeEnabled();
      await expect(button, await focused(page)).toBeFocused();
    }
  });

  test('an IB Key labelled without a phone name: the notification went to the IB Key app', async ({ fakeDesktop: { page } }) => {
    await fillLogin(page, 'demo.ibkeyapp', FAKE_PASSWORD);
    await expect(page.getByText('A notification was sent to your IB Key app. Open it and choose')).toBeVisible();
  });
});

test.describe('server address on the login screen (UI.md screen 1, SPEC C5)', () => {
  test('opens in the footer with the focus in it; Escape and Cancel close it unchanged, focus back on "Server: … ▾"', async ({ fakeDesktop: { page, fake, settings } }) => {
    const before = settings.read().serverAddress;
    const host = new URL(before).host;
    const toggle = page.getByRole('button', { name: /change server address/i });
    await toggle.focus();
    await page.keyboard.press('Enter');
    const field = page.getByLabel('Server address', { exact: true });
    await expect(field).toBeFocused();
    await expect(field).toHaveValue(before);
    // Where "Server: … ▾" was: in the footer, below Log In, inside the window.
    await expect(page.locator('footer').getByLabel('Server address', { exact: true })).toBeVisible();
    const fieldBox = (await field.boundingBox())!;
    const logIn = (await page.getByRole('button', { name: 'Log In' }).boundingBox())!;
    expect(fieldBox.y).toBeGreaterThan(logIn.y + logIn.height);
    expect(fieldBox.y + fieldBox.height).toBeLessThanOrEqual(560);
    await expectAccessible(page, 'login, server address open');

    await field.fill('http://127.0.0.1:1');
    await page.keyboard.press('Escape');
    await expect(field).toHaveCount(0);
    await expect(toggle).toBeFocused();
    await expect(toggle).toHaveText(`Server: ${host} ▾`);

    await page.keyboard.press('Enter');
    await expect(field).toHaveValue(before);
    await field.fill('http://127.0.0.1:1');
    await page.getByRole('button', { name: `Cancel, keep ${host}` }).click();
    await expect(field).toHaveCount(0);
    await expect(toggle).toBeFocused();
    expect(settings.read().serverAddress).toBe(before);

    // Enter in the field logs in, with the address typed there.
    await page.getByLabel('Username', { exact: true }).fill('demo.gold');
    await page.getByLabel('Password', { exact: true }).fill(FAKE_PASSWORD);
    await toggle.click();
    await field.press('Enter');
    await expect(page.getByLabel(/Enter the response/)).toBeFocused();
    expect(fake.expectedResponse()).not.toBeNull();
  });
});
