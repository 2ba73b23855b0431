/**
 * A printable Security Code Card as a one-page PDF (SPEC D3, T2).
 *
 * The online Security Code Card is viewed and printed from the Client Portal (T2), and a
 * replacement legacy card is printed for the user. The page is US Letter: a header with the
 * serial, the user and the dates, a short instruction, then the 224 cells in 8 columns of 28,
 * numbered down each column so an index number is found by scanning one column. Codes are set
 * in a monospaced face; the alphabet has no 0/O or 1/I (core/scc.ts).
 *
 * The PDF holds the card's secrets: callers send it to the user and never store or log it.
 */
import type PdfKit from 'pdfkit';
import { SCC_CELLS, type SecurityCodeCard } from '../../core/scc.ts';

export interface SecurityCodeCardPdfMeta {
  /** Printed on the card, so client services can identify it. */
  serial: string;
  username?: string;
  issuedAt: Date;
  /** For the online card (T2): its expiry. */
  validUntil?: Date;
}

const COLUMNS = 8;
const ROWS = SCC_CELLS / COLUMNS;

const PAGE = { width: 612, height: 792 }; // US Letter, points
const MARGIN = 42;
const INK = '#1a1a1a';
const MUTED = '#5a5a5a';
const RULE = '#9a9a9a';
const SHADE = '#eef1f5';
const ACCENT = '#1f3a5f';

/** A date as the user reads it, in New York time like the rest of the broker's paperwork. */
function formatDate(d: Date): string {
  return new Intl.DateTimeFormat('en-US', { timeZone: 'America/New_York', year: 'numeric', month: 'long', day: 'numeric' }).format(d);
}

/**
 * Render a card to PDF bytes.
 *
 * Throws RangeError when the card does not have 224 cells.
 */
export function renderSecurityCodeCardPdf(card: SecurityCodeCard, meta: SecurityCodeCardPdfMeta): Promise<Buffer> {
  if (card.cells.length !== SCC_CELLS) throw new RangeError(`a Security Code Card has ${SCC_CELLS} cells`);
  // pdfkit is loaded on the first card printed: at start it would cost every slsd ~25 MB resident (issue 7).
  return import('pdfkit').then(({ default: PDFDocument }) => render(PDFDocument, card, meta));
}

function render(PDFDocument: typeof PdfKit, card: SecurityCodeCard, meta: SecurityCodeCardPdfMeta): Promise<Buffer> {
  const doc = new PDFDocument({
    size: [PAGE.width, PAGE.height],
    margin: MARGIN,
    info: {
      Title: `Security Code Card ${meta.serial}`,
      Subject: 'Security Code Card',
      Creator: 'SLS',
      CreationDate: meta.issuedAt,
    },
  });
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('data', (c: Buffer) => chunks.push(c));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });

  const left = MARGIN;
  const width = PAGE.width - 2 * MARGIN;

  // Card outline.
  const cardTop = MARGIN;
  const cardBottom = PAGE.height - MARGIN;
  doc.roundedRect(left, cardTop, width, cardBottom - cardTop, 10).lineWidth(1.2).strokeColor(ACCENT).stroke();

  // Header band.
  const pad = 18;
  const inner = left + pad;
  const innerWidth = width - 2 * pad;
  doc.save().roundedRect(left, cardTop, width, 64, 10).clip().rect(left, cardTop, width, 64).fill(ACCENT).restore();
  doc.fillColor('#ffffff').font('Helvetica-Bold').fontSize(20).text('Security Code Card', inner, cardTop + 14, { width: innerWidth, lineBreak: false });
  doc.font('Helvetica').fontSize(9).text('Secure Login System', inner, cardTop + 40, { width: innerWidth, lineBreak: false });
  doc.font('Helvetica-Bold').fontSize(11).text(`Serial ${meta.serial}`, inner, cardTop + 18, { width: innerWidth, align: 'right', lineBreak: false });
  doc.font('Helvetica').fontSize(9).text(`Issued ${formatDate(meta.issuedAt)}`, inner, cardTop + 40, { width: innerWidth, align: 'right', lineBreak: false });

  // Holder and validity.
  let y = cardTop + 80;
  const details: string[] = [];
  if (meta.username !== undefined) details.push(`User: ${meta.username}`);
  details.push(meta.validUntil ? `Valid until ${formatDate(meta.validUntil)}` : 'Valid until replaced');
  doc.fillColor(INK).font('Helvetica-Bold').fontSize(10).text(details.join('     '), inner, y, { width: innerWidth, lineBreak: false });
  y += 18;

  // Instructions.
  doc.fillColor(MUTED).font('Helvetica').fontSize(9);
  doc.text(
    'At login you are asked for two index numbers. Enter the codes at the two index numbers asked, ' +
      'without spaces, in the order asked: for 17 and 203, type the code at 17 followed by the code at 203. ' +
      'Codes use the digits 2–9 and the letters A–Z without I and O.',
    inner,
    y,
    { width: innerWidth },
  );
  y = doc.y + 4;
  doc.font('Helvetica-Bold').fillColor(INK).text('Keep this card secret. Never share its codes, by phone, e-mail or chat — not even with client services.', inner, y, { width: innerWidth });
  y = doc.y + 12;

  // The grid: 8 columns × 28 rows, numbered down each column.
  const footerHeight = 30;
  const gridTop = y;
  const gridBottom = cardBottom - pad - footerHeight;
  const rowHeight = (gridBottom - gridTop) / (ROWS + 1);
  const colWidth = innerWidth / COLUMNS;

  doc.font('Helvetica-Bold').fontSize(7.5).fillColor(MUTED);
  for (let c = 0; c < COLUMNS; c++) {
    const x = inner + c * colWidth;
    doc.text('No.', x + 4, gridTop + rowHeight / 2 - 3, { width: colWidth * 0.4 - 6, align: 'right', lineBreak: false });
    doc.text('Code', x + colWidth * 0.4 + 4, gridTop + rowHeight / 2 - 3, { width: colWidth * 0.6 - 8, lineBreak: false });
  }
  const bodyTop = gridTop + rowHeight;
  for (let r = 0; r < ROWS; r++) {
    if (r % 2 === 0) doc.rect(inner, bodyTop + r * rowHeight, innerWidth, rowHeight).fill(SHADE);
  }
  for (let c = 0; c < COLUMNS; c++) {
    const x = inner + c * colWidth;
    for (let r = 0; r < ROWS; r++) {
      const index = c * ROWS + r + 1;
      const rowY = bodyTop + r * rowHeight + rowHeight / 2 - 4.5;
      doc.font('Helvetica').fontSize(8.5).fillColor(MUTED).text(String(index), x + 4, rowY + 0.8, { width: colWidth * 0.4 - 6, align: 'right', lineBreak: false });
      doc.font('Courier-Bold').fontSize(11).fillColor(INK).text(card.cells[index - 1]!, x + colWidth * 0.4 + 4, rowY, { lineBreak: false });
    }
  }
  // Column rules and frame.
  doc.lineWidth(0.5).strokeColor(RULE);
  for (let c = 1; c < COLUMNS; c++) {
    const x = inner + c * colWidth;
    doc.moveTo(x, gridTop).lineTo(x, bodyTop + ROWS * rowHeight).stroke();
  }
  doc.moveTo(inner, bodyTop).lineTo(inner + innerWidth, bodyTop).stroke();
  doc.rect(inner, gridTop, innerWidth, (ROWS + 1) * rowHeight).stroke();

  // Footer.
  doc.font('Helvetica').fontSize(8).fillColor(MUTED).text(
    `Card ${meta.serial}  ·  ${SCC_CELLS} codes  ·  If this card is lost or stolen, report it to client services at once.`,
    inner,
    cardBottom - pad - 12,
    { width: innerWidth, align: 'center', lineBreak: false },
  );

  doc.end();
  return done;
}
