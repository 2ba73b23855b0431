/**
 * The signed-in screen (UI.md 7; SPEC C1, C5, L8, O2, P1) against the real slsd: the heading takes the
 * focus, auto-restart says until which weekly cut-off (Sunday 01:00 New York time) or that it is off
 * and why, and slsd's restrictions read in the user's language by their codes (UI audit #4, #11, #13).
 */
import type { Page } from '@playwright/test';
import { nextWeeklyCutoff } from '../../core/calendar.ts';
import { formatNewYorkTime } from '../../core/contract/messages.ts';
import { KeychainUnavailableError } from '../../native/keychain.ts';
import type { Keychain } from '../../native/keychain.ts';
import { de } from '../../renderer/i18n/de/index.ts';
import { en } from '../../renderer/i18n/en/index.ts';
import { expectAccessible } from './axe.ts';
import { demoDevice, deviceResponse, readDemo } from './demo.ts';
import { expect, test } from './fixtures.ts';
import type { Slsd } from './fixtures.ts';

type Words = typeof en | typeof de;

/** demo.gold (no verified mobile number, P1): password, then the Gold device's response, in the language shown. */
async function signInGold(page: Page, slsd: Slsd, words: Words): Promise<void> {
  const demo = readDemo(slsd);
  const gold = demoDevice(demo, 'demo.gold', 'gold');
  await page.getByLabel(words.login.form.username, { exact: true }).fill('demo.gold');
  await page.getByLabel(words.login.form.password, { exact: true }).fill(demo.password);
  await page.getByRole('button', { name: words.login.form.submit }).click();
  const challenge = (await page.locator('output.challenge').innerText()).replace(/\s+/g, '');
  const field = page.locator('input[name="response"]');
  await field.fill(await deviceResponse(slsd, gold, challenge));
  await field.press('Enter');
  await expect(page.getByRole('heading', { name: words.common.signedIn.title })).toBeVisible();
}

/** The value beside a label of the signed-in facts. */
const fact = (page: Page, label: string) => page.locator(`dt:text-is("${label}") + dd`);

/** The weekly cut-off as the screen writes it (New York time, in the language's words). */
const cutOff = (locale: string) => formatNewYorkTime(nextWeeklyCutoff(new Date()), new Date(), locale);

test.describe('signed in (UI.md 7)', () => {
  test('English: the heading has the focus, auto-restart is on until the cut-off, the restriction by its code', async ({ desktop: { page }, slsd }) => {
    await signInGold(page, slsd, en);
    // SPEC C5: the screen change is announced: the heading has the focus, and Tab goes on to the first button.
    await expect(page.getByRole('heading', { name: en.common.signedIn.title })).toBeFocused();
    await page.keyboard.press('Tab');
    await expect(page.getByRole('button', { name: en.common.signedIn.accountSecurity })).toBeFocused();
    // SPEC L8: on until the weekly cut-off, Sunday 01:00 New York time.
    await expect(fact(page, en.common.signedIn.autoRestart)).toHaveText(`On until ${cutOff('en-US')} (New York time)`);
    await expect(fact(page, en.common.signedIn.autoRestart)).toContainText('01:00');
    // SPEC P1, by its code; the English words are slsd's.
    await expect(page.locator('li[data-code="SLS_RESTRICTION_MOBILE_NOT_VERIFIED"]')).toHaveText('Trading restricted: mobile number not verified');
    await expectAccessible(page, 'signed in');
  });

  test('German: the restriction and auto-restart in German, nothing left in English', async ({ desktop: { page, settings }, slsd }) => {
    settings.update({ language: 'de' });
    await page.reload();
    await signInGold(page, slsd, de);
    await expect(page.getByRole('heading', { name: de.common.signedIn.title })).toBeFocused();
    await expect(fact(page, de.common.signedIn.restrictions)).toHaveText('Handel eingeschränkt: Mobilnummer nicht bestätigt');
    await expect(page.getByText('Trading restricted: mobile number not verified')).toHaveCount(0);
    await expect(fact(page, de.common.signedIn.autoRestart)).toHaveText(`Aktiv bis ${cutOff('de-DE')} (New Yorker Zeit)`);
    await expectAccessible(page, 'signed in (German)');
  });
});

/** No OS keychain answers on this computer (no Secret Service): SLS_ERR_KEYCHAIN on every call. */
function noKeychain(): Keychain {
  const fail = async (): Promise<never> => {
    throw new KeychainUnavailableError(new Error('no Secret Service'));
  };
  return { get: fail, set: fail, delete: fail, accounts: fail, clear: fail, available: async () => false };
}

const withoutKeychain = test.extend<{ keychain: Keychain }>({
  // eslint-disable-next-line no-empty-pattern
  keychain: async ({}, use) => use(noKeychain()),
});

withoutKeychain('no keychain on this computer: signed in all the same, and auto-restart says it is off and why', async ({ desktop: { page }, slsd }) => {
  await signInGold(page, slsd, en);
  await expect(fact(page, en.common.signedIn.autoRestart)).toHaveText('Off: no system keychain on this computer');
  await expect(page.getByRole('heading', { name: en.common.signedIn.title })).toBeFocused();
});
