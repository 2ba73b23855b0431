import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generateSecurityCodeCard } from '../../core/scc.ts';
import { renderSecurityCodeCardPdf } from './scc-pdf.ts';

// pdftotext comes with the Debian package poppler-utils (installed in CI).
const PDFTOTEXT = ['/usr/bin/pdftotext', '/usr/local/bin/pdftotext'].find((p) => existsSync(p));

describe('renderSecurityCodeCardPdf (SPEC D3, T2)', () => {
  const card = generateSecurityCodeCard();
  const meta = {
    serial: 'SCC-0012-3456',
    username: 'jdoe',
    issuedAt: new Date('2025-06-13T15:00:00Z'),
    validUntil: new Date('2025-07-04T15:00:00Z'),
  };

  it('produces a one-page PDF titled with the serial', async () => {
    const pdf = await renderSecurityCodeCardPdf(card, meta);
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect(pdf.subarray(-6).toString('latin1')).toMatch(/%%EOF\s*$/);
    const text = pdf.toString('latin1');
    expect(text.match(/\/Type \/Page\b/g)).toHaveLength(1);
    expect(text).toContain('Security Code Card SCC-0012-3456');
  });

  it.runIf(PDFTOTEXT)('prints every index number with its code, the serial, the user, the dates and the instruction', async () => {
    const pdf = await renderSecurityCodeCardPdf(card, meta);
    const text = execFileSync(PDFTOTEXT!, ['-layout', '-', '-'], { input: pdf }).toString('utf8');
    const flat = text.replace(/\s+/g, ' ');
    expect(flat).toContain('Serial SCC-0012-3456');
    expect(flat).toContain('User: jdoe');
    expect(flat).toContain('Issued June 13, 2025');
    expect(flat).toContain('Valid until July 4, 2025');
    expect(flat).toContain('Enter the codes at the two index numbers asked, without spaces');
    for (let i = 1; i <= 224; i++) {
      expect(text, `index ${i}`).toMatch(new RegExp(`(^|\\s)${i}\\s+${card.cells[i - 1]}(\\s|$)`, 'm'));
    }
  });

  it.runIf(PDFTOTEXT)('says "Valid until replaced" without an expiry, and leaves out a missing user', async () => {
    const pdf = await renderSecurityCodeCardPdf(card, { serial: 'SCC-9', issuedAt: meta.issuedAt });
    const flat = execFileSync(PDFTOTEXT!, ['-', '-'], { input: pdf }).toString('utf8').replace(/\s+/g, ' ');
    expect(flat).toContain('Valid until replaced');
    expect(flat).not.toContain('User:');
  });

  it('refuses a card without 224 cells', () => {
    expect(() => renderSecurityCodeCardPdf({ cells: card.cells.slice(1) }, meta)).toThrow(RangeError);
  });
});
