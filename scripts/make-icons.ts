/**
 * Make every installer icon from the one source image, resources/icon.svg.
 *
 * SPEC N3: one config, three platforms — so one picture too. Linux wants a set of PNGs
 * (resources/icons/NxN.png), Windows an .ico, macOS an .icns. sharp renders the SVG at each
 * size directly (crisper at 16 px than scaling a big bitmap down); png2icons packs the .ico
 * and .icns. The outputs are committed, so packaging never needs these tools.
 *
 * Run: `npm run icons`.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import png2icons from 'png2icons';

/** Sizes of the Linux icon set (hicolor theme sizes electron-builder installs). */
export const linuxIconSizes = [16, 24, 32, 48, 64, 128, 256, 512, 1024] as const;

/** Render the SVG at one square size as a PNG. */
export async function renderIconPng(svg: Buffer, size: number): Promise<Buffer> {
  return sharp(svg, { density: Math.max(72, Math.ceil((72 * size) / 1024)) })
    .resize(size, size, { fit: 'contain', background: { r: 0, g: 0, b: 0, alpha: 0 } })
    .png({ compressionLevel: 9 })
    .toBuffer();
}

/** Write resources/icon.png, resources/icons/NxN.png, resources/icon.ico and resources/icon.icns. */
export async function makeIcons(resourcesDir: string): Promise<string[]> {
  const svg = await readFile(path.join(resourcesDir, 'icon.svg'));
  const iconsDir = path.join(resourcesDir, 'icons');
  await mkdir(iconsDir, { recursive: true });
  const written: string[] = [];
  for (const size of linuxIconSizes) {
    const file = path.join(iconsDir, `${size}x${size}.png`);
    await writeFile(file, await renderIconPng(svg, size));
    written.push(file);
  }
  const big = await renderIconPng(svg, 1024);
  await writeFile(path.join(resourcesDir, 'icon.png'), big);
  written.push(path.join(resourcesDir, 'icon.png'));

  // Windows: PNG-compressed entries, BMP for the small ones (forWinExe) so rcedit/NSIS accept it.
  const ico = png2icons.createICO(big, png2icons.BICUBIC2, 0, true, true);
  const icns = png2icons.createICNS(big, png2icons.BICUBIC2, 0);
  if (ico === null || icns === null) throw new Error('SLS_ERR_ICON_PACK: png2icons could not pack the icon');
  await writeFile(path.join(resourcesDir, 'icon.ico'), ico);
  await writeFile(path.join(resourcesDir, 'icon.icns'), icns);
  written.push(path.join(resourcesDir, 'icon.ico'), path.join(resourcesDir, 'icon.icns'));
  return written;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const resourcesDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'resources');
  const written = await makeIcons(resourcesDir);
  for (const file of written) console.log(path.relative(process.cwd(), file));
}
