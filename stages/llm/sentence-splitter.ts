// Cuts a token stream into speakable pieces so TTS can start on the first sentence while the LLM
// is still writing the rest. A piece ends at . ! ? … (or a newline) followed by whitespace, unless
// the word before is a known abbreviation or a single initial; very long run-ons are cut at a comma,
// then at a space. Pure and incremental: push(delta) returns finished pieces, flush() the rest.

const ABBREVIATIONS = new Set(['mr', 'mrs', 'ms', 'dr', 'prof', 'sr', 'jr', 'st', 'vs', 'etc', 'e.g', 'i.e', 'fig', 'inc', 'ltd', 'co']);
const MIN_CHARS = 12;
const SOFT_MAX = 160;
const HARD_MAX = 300;

function endsWithAbbreviation(text: string): boolean {
  const m = /([A-Za-z.]+)\.$/.exec(text);
  if (!m) return false;
  const word = m[1]!.toLowerCase();
  return ABBREVIATIONS.has(word) || /^[a-z]$/.test(word);
}

export class SentenceSplitter {
  private buf = '';

  push(delta: string): string[] {
    this.buf += delta;
    const out: string[] = [];
    for (let piece = this.next(); piece !== null; piece = this.next()) out.push(piece);
    return out;
  }

  flush(): string | null {
    const rest = this.buf.trim();
    this.buf = '';
    return rest ? rest : null;
  }

  private next(): string | null {
    const re = /[.!?…]+["')\]]*(?=\s)|\n+/g;
    for (let m = re.exec(this.buf); m; m = re.exec(this.buf)) {
      const end = m.index + m[0].length;
      const candidate = this.buf.slice(0, end).trim();
      if (candidate.length < MIN_CHARS && m[0][0] !== '\n') continue;
      if (m[0][0] === '.' && m[0].length === 1 && endsWithAbbreviation(this.buf.slice(0, end))) continue;
      if (!candidate) {
        this.buf = this.buf.slice(end);
        return this.next();
      }
      this.buf = this.buf.slice(end);
      return candidate;
    }
    if (this.buf.length > SOFT_MAX) {
      const comma = this.buf.lastIndexOf(', ', HARD_MAX);
      const cut = comma > MIN_CHARS ? comma + 1 : this.buf.length > HARD_MAX ? this.buf.lastIndexOf(' ', HARD_MAX) : -1;
      if (cut > 0) {
        const piece = this.buf.slice(0, cut).trim();
        this.buf = this.buf.slice(cut);
        return piece;
      }
    }
    return null;
  }
}
