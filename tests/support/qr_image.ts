/**
 * Test support for QR codes: turn a module grid, or the half-block text the
 * terminal shows, into a PBM image and read it with a real decoder
 * (`zbarimg` from Debian's zbar-tools).
 */
import { run } from "./server.ts";

/** Pixels per module in the images handed to the decoder. */
const SCALE = 4;

/** A plain PBM (P1) of a grid, `true` = dark, each module SCALE x SCALE pixels. */
export function pbmOf(dark: boolean[][]): string {
  const rows: string[] = [];
  for (const row of dark) {
    const line = row.flatMap((d) => new Array<string>(SCALE).fill(d ? "1" : "0")).join(" ");
    for (let i = 0; i < SCALE; i++) rows.push(line);
  }
  const width = (dark[0]?.length ?? 0) * SCALE;
  return `P1\n${width} ${rows.length}\n${rows.join("\n")}\n`;
}

/**
 * The module grid drawn by half-block text: each character is two modules
 * one above the other, ink (`█▀▄`) light and blank dark, as `qrTerminal` draws.
 */
export function gridOfHalfBlocks(text: string): boolean[][] {
  const lines = text.split("\n").filter((l) => /[█▀▄]/.test(l));
  const width = Math.max(...lines.map((l) => [...l].length));
  const grid: boolean[][] = [];
  for (const line of lines) {
    const chars = [...line].concat(new Array<string>(width).fill(" ")).slice(0, width);
    grid.push(chars.map((c) => c !== "█" && c !== "▀"));
    grid.push(chars.map((c) => c !== "█" && c !== "▄"));
  }
  return grid;
}

/** What zbarimg reads from a PBM image: the decoded texts, one per symbol found. */
export async function zbarDecode(pbm: string): Promise<string[]> {
  const file = await Deno.makeTempFile({ suffix: ".pbm" });
  try {
    await Deno.writeTextFile(file, pbm);
    const r = await run("zbarimg", ["--raw", "-q", "-Sdisable", "-Sqrcode.enable", file]).catch(
      (err) => {
        throw new Error(`zbarimg could not run (apt-get install zbar-tools): ${err}`);
      },
    );
    if (r.code !== 0) return [];
    return r.stdout.replace(/\n$/, "").split("\n");
  } finally {
    await Deno.remove(file);
  }
}
