/** Lines read from a byte stream, in runs: the text of each line (no newline, no trailing CR). */
export interface LineRun {
  lines: string[];
  /** 1-based number of `lines[0]`. */
  first: number;
  /** Bytes of the input consumed up to the end of this run. */
  bytes: number;
}

/**
 * Splits a UTF-8 byte stream into lines, one run per chunk read (no per-line promise). A last line
 * without a newline still counts.
 */
export async function* readLines(stream: AsyncIterable<Uint8Array>): AsyncGenerator<LineRun> {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let carry = "";
  let next = 1;
  let bytes = 0;
  for await (const chunk of stream) {
    bytes += chunk.byteLength;
    const text = carry + decode(decoder, chunk, next);
    const parts = text.split("\n");
    carry = parts.pop()!;
    if (parts.length === 0) continue;
    for (let i = 0; i < parts.length; i++) if (parts[i]!.endsWith("\r")) parts[i] = parts[i]!.slice(0, -1);
    yield { lines: parts, first: next, bytes };
    next += parts.length;
  }
  const rest = carry + decode(decoder, undefined, next);
  if (rest !== "") yield { lines: [rest.endsWith("\r") ? rest.slice(0, -1) : rest], first: next, bytes };
}

function decode(decoder: TextDecoder, chunk: Uint8Array | undefined, line: number): string {
  try {
    return chunk ? decoder.decode(chunk, { stream: true }) : decoder.decode();
  } catch {
    throw new Error(`the input is not valid UTF-8 (at line ${line} or a few lines after it)`);
  }
}
