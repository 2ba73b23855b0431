/**
 * The signed-in session ends cleanly at its expiry (SPEC C1, C5, L8), against a real slsd whose
 * sessions last SESSION_TTL_MS: the polite notice shows (role=status, focus left alone, axe-clean),
 * then the host drops the session at its expiry and the login form says when, user name prefilled.
 */
import { fillLogin } from '../fixtures/ui.ts';
import { expectAccessible } from './axe.ts';
import { demoDevice, deviceResponse, readDemo } from './demo.ts';
import { expect, test } from './fixtures.ts';

/** Short enough to wait for, long enough to sign in, look at the notice and run axe on a loaded machine. */
const SESSION_TTL_MS = 12_000;

test.use({ slsdEnv: { SLS_SESSION_TTL_MS: String(SESSION_TTL_MS) } });

test('C1, C5: a notice before the session ends, then back to the login form saying when, user name kept', async ({ desktop: { page }, slsd }) => {
  const demo = readDemo(slsd);
  const device = demoDevice(demo, 'demo.gold', 'gold');
  await fillLogin(page, 'demo.gold', demo.password);
  const challenge = (await page.locator('output.challenge').innerText()).replace(/\s+/g, '');
  const field = page.locator('input[name="response"]');
  await field.fill(await deviceResponse(slsd, device, challenge));
  await field.press('Enter');
  await expect(page.getByRole('heading', { name: 'Signed in' })).toBeVisible();

  // Less than SESSION_WARNING_MS (5 min) is left from the start: the notice is there at once.
  const ends = (await page.locator('dt:text-is("Session ends") + dd').innerText()).replace(' (New York time)', '');
  const notice = page.getByRole('status').filter({ hasText: 'Your session ends at' });
  await expect(notice).toHaveText(`Your session ends at ${ends} (New York time). After that, log in again to go on.`);
  // Polite: no dialog, and the focus stays where the user had it.
  await expect(page.getByRole('dialog')).toHaveCount(0);
  await expect(notice).not.toBeFocused();
  await expect(notice.locator(':focus')).toHaveCount(0);
  await expectAccessible(page, 'signed in, session ending');

  // The host drops the session at its expiry; the renderer returns to the login form.
  const ended = page.getByRole('alert').filter({ hasText: 'Your session ended at' });
  await expect(ended).toHaveText(`Your session ended at ${ends} (New York time). Log in again.`, { timeout: SESSION_TTL_MS + 5_000 });
  await expect(page.getByLabel('Username', { exact: true })).toHaveValue('demo.gold');
  await expectAccessible(page, 'login after the session ended');

  // The token is gone in the host: a reload does not come back signed in, nor does an auto-restart (L8) kick in.
  await page.reload();
  await expect(page.getByRole('button', { name: 'Log In' })).toBeVisible();
  await expect(page.getByRole('heading', { name: 'Signed in' })).toHaveCount(0);
});
