export interface JsonPosition {
  /** 0-based offset into the text. */
  readonly offset: number;
  /** 1-based line and column, as editors show them. */
  readonly line: number;
  readonly column: number;
}

export function positionAt(text: string, offset: number): JsonPosition {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { offset, line, column: offset - (before.lastIndexOf('\n') + 1) + 1 };
}

const WHITESPACE = new Set([' ', '\t', '\n', '\r']);
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const ESCAPES = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't']);

/**
 * Finds where JSON text first goes wrong. JSON.parse stays the parser; this only explains its
 * failures, because Node 20 names no position for errors such as "Unexpected token '}'".
 * Returns undefined for valid JSON.
 */
export function locateJsonSyntaxError(text: string): JsonPosition | undefined {
  let i = 0;
  const fail = (): never => {
    throw new SyntaxPosition(i);
  };
  const skipWhitespace = () => {
    while (i < text.length && WHITESPACE.has(text[i])) i += 1;
  };
  const expect = (char: string) => {
    skipWhitespace();
    if (text[i] !== char) fail();
    i += 1;
  };
  const string = () => {
    if (text[i] !== '"') fail();
    i += 1;
    while (i < text.length) {
      const char = text[i];
      if (char === '"') {
        i += 1;
        return;
      }
      if (char < ' ') fail();
      if (char === '\\') {
        i += 1;
        if (text[i] === 'u') {
          for (let k = 1; k <= 4; k += 1) {
            if (!/[0-9a-fA-F]/.test(text[i + k] ?? '')) {
              i += k;
              fail();
            }
          }
          i += 4;
        } else if (!ESCAPES.has(text[i])) fail();
      }
      i += 1;
    }
    fail();
  };
  const value = (): void => {
    skipWhitespace();
    const char = text[i];
    if (char === '{') {
      i += 1;
      skipWhitespace();
      if (text[i] === '}') {
        i += 1;
        return;
      }
      for (;;) {
        skipWhitespace();
        string();
        expect(':');
        value();
        skipWhitespace();
        if (text[i] === ',') i += 1;
        else if (text[i] === '}') {
          i += 1;
          return;
        } else fail();
      }
    }
    if (char === '[') {
      i += 1;
      skipWhitespace();
      if (text[i] === ']') {
        i += 1;
        return;
      }
      for (;;) {
        value();
        skipWhitespace();
        if (text[i] === ',') i += 1;
        else if (text[i] === ']') {
          i += 1;
          return;
        } else fail();
      }
    }
    if (char === '"') return string();
    for (const literal of ['true', 'false', 'null']) {
      if (text.startsWith(literal, i)) {
        i += literal.length;
        return;
      }
    }
    NUMBER.lastIndex = i;
    if (NUMBER.test(text)) {
      i = NUMBER.lastIndex;
      return;
    }
    fail();
  };

  try {
    value();
    skipWhitespace();
    if (i < text.length) fail();
    return undefined;
  } catch (error) {
    if (error instanceof SyntaxPosition) return positionAt(text, error.offset);
    throw error;
  }
}

class SyntaxPosition {
  constructor(readonly offset: number) {}
}
