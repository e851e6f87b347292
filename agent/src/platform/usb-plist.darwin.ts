// A small reader for the XML property lists `diskutil … -plist` prints. Pure; enough of the
// format for diskutil (dict, array, key, string, integer, real, true, false, data, date).
import { CustodianError, ErrorCode } from '@custodian/protocol';

export type PlistValue = string | number | boolean | PlistValue[] | { [key: string]: PlistValue };

const ENTITIES: Record<string, string> = {
  '&lt;': '<',
  '&gt;': '>',
  '&amp;': '&',
  '&quot;': '"',
  '&apos;': "'",
};
const decodeEntities = (s: string): string => s.replace(/&(lt|gt|amp|quot|apos);/g, (e) => ENTITIES[e] ?? e);

export function parsePlist(xml: string): PlistValue {
  const tokens = [...xml.matchAll(/<(\/?)([a-zA-Z]+)(\s*\/)?>([^<]*)/g)].filter(
    (t) => !['plist', '?xml', '!DOCTYPE'].includes(t[2] ?? ''),
  );
  let i = 0;
  const fail = (why: string): never => {
    throw new CustodianError(ErrorCode.COMMAND_FAILED, `plist: ${why}`);
  };
  const value = (): PlistValue => {
    const t = tokens[i++] ?? fail('unexpected end');
    const [, close, tag, selfClose, text] = t;
    if (close) fail(`unexpected </${tag}>`);
    const textAndClose = (): string => {
      if (selfClose) return '';
      const end = tokens[i++];
      if (end?.[1] !== '/' || end[2] !== tag) fail(`<${tag}> not closed`);
      return decodeEntities(text ?? '');
    };
    switch (tag) {
      case 'string':
      case 'data':
      case 'date':
        return textAndClose();
      case 'integer':
      case 'real':
        return Number(textAndClose());
      case 'true':
        return true;
      case 'false':
        return false;
      case 'array': {
        const arr: PlistValue[] = [];
        if (selfClose) return arr;
        while (tokens[i] && !(tokens[i]?.[1] === '/' && tokens[i]?.[2] === 'array')) arr.push(value());
        i++;
        return arr;
      }
      case 'dict': {
        const obj: { [key: string]: PlistValue } = {};
        if (selfClose) return obj;
        while (tokens[i] && !(tokens[i]?.[1] === '/' && tokens[i]?.[2] === 'dict')) {
          const k = tokens[i++];
          if (k?.[2] !== 'key') fail('dict entry without <key>');
          const key = decodeEntities(k?.[4] ?? '');
          i++; // </key>
          obj[key] = value();
        }
        i++;
        return obj;
      }
      default:
        return fail(`unknown element <${tag}>`);
    }
  };
  if (tokens.length === 0) fail('empty document');
  return value();
}
