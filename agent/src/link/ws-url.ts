// The collector's ingest endpoint from the server URL given at enrolment.
import { CustodianError, ErrorCode } from '@custodian/protocol';

export function ingestUrl(serverUrl: string): string {
  let url: URL;
  try {
    url = new URL(serverUrl);
  } catch {
    throw new CustodianError(ErrorCode.INVALID_CONFIG, `not a URL: ${serverUrl}`);
  }
  if (url.protocol === 'http:') url.protocol = 'ws:';
  else if (url.protocol === 'https:') url.protocol = 'wss:';
  else if (url.protocol !== 'ws:' && url.protocol !== 'wss:')
    throw new CustodianError(ErrorCode.INVALID_CONFIG, `server URL must be http(s) or ws(s): ${serverUrl}`);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/ws/agent`;
  url.search = '';
  url.hash = '';
  return url.toString();
}
