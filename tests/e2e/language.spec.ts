/**
 * The client's languages (UI.md: "More: language"): chosen in the More menu, kept in the settings,
 * following the system's language until then; every screen's words, the error lines and <html lang>
 * switch with it, and the screens stay accessible. The words come from the catalogues themselves, so
 * a changed translation does not break the test, a missing one does.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { startBrowserHost } from '../../electron/browser-host.ts';
import { createMemoryKeychain } from '../../native/keychain.ts';
import { createConfSettingsStore } from '../../native/settings.ts';
import { de } from '../../renderer/i18n/de/index.ts';
import { en } from '../../renderer/i18n/en/index.ts';
import { fr } from '../../renderer/i18n/fr/index.ts';
import { FAKE_PASSWORD, startFakeSlsd } from '../fixtures/fake-slsd.ts';
import { expectAccessible } from './axe.ts';
import { expect, test } from './fixtures.ts';

interface Measured {
  getBoundingClientRect(): { left: number; right: number; width: number };
  cloneNode(deep: boolean): Measured;
  remove(): void;
  style: { cssText: string };
  scrollWidth: number;
  clientWidth: number;
  textContent: string | null;
  parentElement: { appendChild(n: Measured): void } | null;
  closest(selector: string): Measured | null;
  querySelectorAll(selector: string): ArrayLike<Measured>;
}

/**
 * The More menu shows every item whole (UI.md: "More: language"): the language drop-down at least
 * as wide as its longest option needs ("System (Deutsch)", "Système (English)"), no item cut
 * (scrollWidth within clientWidth), the menu inside the 420 px window.
 */
async function expectMenuFits(page: Page, languageLabel: string): Promise<void> {
  const m = await page.getByLabel(languageLabel).evaluate((node) => {
    const el = node as unknown as Measured;
    // The same select at its natural width (the longest option and the arrow), beside the real one.
    const natural = el.cloneNode(true);
    natural.style.cssText = 'position:absolute;visibility:hidden;width:max-content;flex:none';
    el.parentElement!.appendChild(natural);
    const needed = natural.getBoundingClientRect().width;
    natural.remove();
    const menu = el.closest('.menu')!;
    const cut = Array.from(menu.querySelectorAll('span, button, p')).filter((e) => e.scrollWidth > e.clientWidth).map((e) => e.textContent);
    const box = menu.getBoundingClientRect();
    return { shown: el.getBoundingClientRect().width, needed, cut, left: box.left, right: box.right, window: (globalThis as unknown as { innerWidth: number }).innerWidth };
  });
  expect(m.shown, `drop-down ${m.shown}px, its longest option needs ${m.needed}px`).toBeGreaterThanOrEqual(m.needed - 0.5);
  expect(m.cut).toEqual([]);
  expect(m.left).toBeGreaterThanOrEqual(0);
  expect(m.right).toBeLessThanOrEqual(m.window);
}

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

test.describe('the More menu in a small window (UI.md: 420×560)', () => {
  test('the language drop-down shows its options in full in English, German and French', async ({ fakeDesktop: { page } }) => {
    await page.getByRole('button', { name: en.shell.more.toggle }).click();
    await expect(page.getByLabel(en.shell.more.language)).toHaveValue('');
    await expectMenuFits(page, en.shell.more.language);
    await page.getByLabel(en.shell.more.language).selectOption({ label: 'Deutsch' });
    await expect(page.locator('html')).toHaveAttribute('lang', 'de');
    await expectMenuFits(page, de.shell.more.language);
    await page.getByLabel(de.shell.more.language).selectOption({ label: 'Français' });
    await expect(page.locator('html')).toHaveAttribute('lang', 'fr');
    await expectMenuFits(page, fr.shell.more.language);
    await expectAccessible(page, 'More menu (French)');
  });
});

test.describe('the password field in every language (UI.md screen 1)', () => {
  test('Show/Hide keeps its width when pressed ("Anzeigen"/"Ausblenden"): the password field does not move', async ({ fakeDesktop: { page, settings } }) => {
    for (const [language, words] of [['de', de], ['fr', fr], ['en', en]] as const) {
      settings.update({ language });
      await page.reload();
      await expect(page.locator('html')).toHaveAttribute('lang', language);
      const password = page.getByLabel(words.login.form.password, { exact: true });
      await password.fill('secret');
      // Show/Hide, beside the field: its name changes with its state.
      const toggle = page.locator('.with-button').filter({ has: password }).getByRole('button');
      const box = async () => {
        const [field, button] = await Promise.all([password.boundingBox(), toggle.boundingBox()]);
        return { fieldX: field!.x, fieldWidth: field!.width, buttonX: button!.x, buttonWidth: button!.width };
      };
      const hidden = await box();
      await page.getByRole('button', { name: words.login.form.showPassword }).click();
      await expect(password).toHaveAttribute('type', 'text');
      await expect(page.getByRole('button', { name: words.login.form.hidePassword })).toHaveText(words.login.form.hide, { useInnerText: true });
      expect(await box(), `${language}: "${words.login.form.show}" → "${words.login.form.hide}"`).toEqual(hidden);
      await page.getByRole('button', { name: words.login.form.hidePassword }).click();
      await expect(password).toHaveAttribute('type', 'password');
      expect(await box(), `${language}: back to "${words.login.form.show}"`).toEqual(hidden);
    }
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
      // "System (Deutsch)" whole, not "System (Deu" (UI audit #1).
      await expectMenuFits(page, de.shell.more.language);
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
