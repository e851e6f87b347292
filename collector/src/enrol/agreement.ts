// The BYOD acceptable use agreement a user accepts when enrolling their own laptop. Acceptance
// is stored with this version and the SHA-256 of this exact text, so a later edit cannot
// change what someone agreed to. Change the text => bump the version.
import { createHash } from 'node:crypto';

export const AGREEMENT_VERSION = '2026-1';

export const AGREEMENT_TEXT = `Custodian — Bring Your Own Device (BYOD) acceptable use agreement (version ${AGREEMENT_VERSION})

By enrolling this device you agree that, while it is enrolled with the school:
1. The screen locks after the idle time set by the school's policy.
2. Files cannot be written to unencrypted USB storage; attempts are recorded.
3. Window titles and web addresses are checked on this device for words that can signal a
   safeguarding concern (for example self-harm, grooming, radicalisation). When one matches, a
   screenshot is taken and sent, encrypted, to the school's Designated Safeguarding Lead (DSL),
   who alone may view it. Nothing else of your screen is recorded.
4. The school keeps activity records for the time set in its retention policy, then deletes them.
5. You can see what is monitored with \`custodian-agent status\`, and you may unenrol at any time
   with \`custodian-agent unenrol\`; monitoring then stops on this device.
`;

export const AGREEMENT_SHA256 = createHash('sha256').update(AGREEMENT_TEXT, 'utf8').digest('hex');

export function currentAgreement(): { version: string; sha256: string; text: string } {
  return { version: AGREEMENT_VERSION, sha256: AGREEMENT_SHA256, text: AGREEMENT_TEXT };
}
