/**
 * User names as slsd compares them: one function for the server and the desktop.
 *
 * slsd keeps user names unique case-insensitively and counts failures by this form (SPEC L6), so a
 * user is the same user however the name is typed ("JSmith", " jsmith ", full-width "ｊｓｍｉｔｈ").
 * The desktop keys what it remembers per user (the device used last, SPEC L2) by the same form,
 * so it finds that user's device whichever way the name was typed.
 */

/** NFKC (full-width and compatibility forms fold), trimmed, lower case. */
export function normalizeUsername(username: string): string {
  return username.normalize('NFKC').trim().toLowerCase();
}
