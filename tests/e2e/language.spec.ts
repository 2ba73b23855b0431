/**
 * The client's languages (UI.md: "More: language"): chosen in the More menu, kept in the settings,
 * following the system's language until then; every screen's words, the error lines and <html lang>
 * switch with it, and the screens stay accessible. The words come from the catalogues themselves, so
 * a changed translation does not break the test, a missing one does.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBrowserHost } from '../../electron/browser-host.ts';
import { createMemoryKeychain } from '../../native/keychain.ts';
import { createConfSettingsStore } from '../../native/settings.ts';
import { de } from '../../renderer/i18n/de/index.ts';
import { en } from '../../renderer/i18n/en/index.ts';
import { fr } from '../../renderer/i18n/fr/index.ts';
import { FAKE_PASSWORD, startFakeSlsd } from '../fixtures/fake-slsd.ts';
import { expectAccessible } from './axe.ts';
import { expect, test } from './fixtures.ts';

test.describe('language (UI.md: More, language)', () => {
  test('German chosen in More: the words, the errors and <html lang> follow, kept across a restart; French; back to the system', async ({ fakeDesktop: { page, fake, settings } }) => {
    await expect(page.locator('html')).toHaveAttribute('lang', 'en');
    await page.getByRole('button', { name: en.shell.more.toggle }).click();
    await page.getByLabel(en.shell.more.language).selectOption({ label: 'Deutsch' });
    await expect(page.locator('html')).toHaveAttribute('lang', 'de');
    await expect(page.getByRole('button', { name: de.login.form.submit })).toBeVisible();
    expect(settings.read().language).toBe('de');

    // A wrong password: the one generic line (L1), in German.
    await page.getByLabel(de.login.form.username, { exact: true }).fill('demo.gold');
    await page.getByLabel(de.login.form.password, { exact: true }).fill('wrong');
    await page.getByRole('button', { name: de.login.form.submit }).click();
    await expect(page.getByRole('alert')).toHaveText(`${de.errors.invalidCredentials.message} ${de.errors.invalidCredentials.action}`);
    await expectAccessible(page, 'login (German, wrong password)');

    // The choice survives a restart of the window.
    await page.reload();
    await expect(page.getByRole('button', { name: de.login.form.submit })).toBeVisible();
    await expect(page.locator('html')).toHaveAttribute('lang', 'de');

    // Through the second factor to the signed-in screen, in German.
    await page.getByLabel(de.login.form.username, { exact: true }).fill('demo.gold');
    await page.getByLabel(de.login.form.password, { exact: true }).fill(FAKE_PASSWORD);
    await page.getByRole('button', { name: de.login.form.submit }).click();
    const response = page.locator('input[name="response"]');
    // The challenge screen first: the fake knows the expected response only once it issued the challenge.
    await expect(response).toBeVisible();
    await response.fill(fake.expectedResponse() ?? '');
    await expectAccessible(page, 'challenge (German)');
    await response.press('Enter');
    await expect(page.getByRole('heading', { name: de.common.signedIn.title })).toBeVisible();
    await expect(page.getByRole('button', { name: de.common.signedIn.signOut })).toBeVisible();
    await expectAccessible(page, 'signed in (German)');

    // French, then the system's language (English here) again.
    await page.getByRole('button', { name: de.shell.more.toggle }).click();
    await page.getByLabel(de.shell.more.language).selectOption({ label: 'Français' });
    await expect(page.getByRole('heading', { name: fr.common.signedIn.title })).toBeVisible();
    await expect(page.locator('html')).toHaveAttribute('lang', 'fr');
    await page.getByLabel(fr.shell.more.language).selectOption({ label: fr.shell.more.systemLanguage.replace('{{name}}', 'English') });
    await expect(page.getByRole('heading', { name: en.common.signedIn.title })).toBeVisible();
    await expect(page.locator('html')).toHaveAttribute('lang', 'en');
    expect(settings.read().language).toBeNull();
  });
});

test.describe('language of a German system (UI.md)', () => {
  test.use({ locale: 'de-DE' });
  test('starts in German until another language is chosen, which is kept', async ({ page }) => {
    const fake = await startFakeSlsd();
    const dir = mkdtempSync(join(tmpdir(), 'sls-e2e-lang-'));
    const settings = createConfSettingsStore({ dir });
    settings.update({ serverAddress: fake.url });
    const host = await startBrowserHost({ settings, keychain: createMemoryKeychain() });
    try {
      await page.goto(host.url);
      await expect(page.getByRole('button', { name: de.login.form.submit })).toBeVisible();
      await expect(page.locator('html')).toHaveAttribute('lang', 'de');
      expect(settings.read().language).toBeNull();
      await page.getByRole('button', { name: de.shell.more.toggle }).click();
      await expect(page.getByLabel(de.shell.more.language)).toHaveValue('');
      await page.getByLabel(de.shell.more.language).selectOption({ label: 'English' });
      await expect(page.getByRole('button', { name: en.login.form.submit })).toBeVisible();
      expect(settings.read().language).toBe('en');
      await page.reload();
      await expect(page.getByRole('button', { name: en.login.form.submit })).toBeVisible();
    } finally {
      await host.close();
      await fake.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
