// What POST /api/v1/enrol accepts (issue 13): a school device's enrolment (the organisation
// secret) or a BYOD one (a code and the owner's acceptance), declared once; the route checks it
// before the service runs, so the service receives typed facts and never parses.
import { type Static, Type } from '@sinclair/typebox';
import { DeviceText } from '../http/schema.ts';

const Opt = (maxLength: number, description: string) =>
  Type.Optional(Type.String({ maxLength, description }));

const Facts = {
  machineId: DeviceText(1, 256, "the machine's id (/etc/machine-id)"),
  hostname: DeviceText(1, 255, 'the host name'),
  os: DeviceText(1, 64, 'the operating system'),
  serial: Type.Optional(DeviceText(0, 128, 'the serial number, if known')),
  previousDeviceId: Opt(128, 'on re-enrolment: the device id this machine had'),
  previousDeviceKey: Opt(256, 'on re-enrolment: its key (proof; without it IT must approve)'),
  enrolAttempt: Type.Optional(
    Type.String({
      pattern: '^[A-Za-z0-9_-]{16,256}$',
      description:
        'a random id the agent keeps until it has saved the answer: the same attempt sent again (its answer lost to a crash) gets the same device or request, with a fresh key (16-256 of A-Z a-z 0-9 _ -)',
    }),
  ),
};
// Agents call this route: a newer agent may send a field this collector does not know yet, and
// must still enrol (unknown fields are ignored here, refused on staff routes).
const open = { additionalProperties: true };

export const SchoolEnrolBody = Type.Object(
  {
    secret: Type.String({
      maxLength: 256,
      description: 'the organisation enrol secret (school-owned devices)',
    }),
    ...Facts,
  },
  open,
);
export type SchoolEnrol = Static<typeof SchoolEnrolBody>;

export const ByodEnrolBody = Type.Object(
  {
    code: Type.String({ maxLength: 64, description: 'a one-time BYOD enrolment code from IT' }),
    userName: DeviceText(1, 200, "the device owner's name"),
    acceptAgreement: Type.Optional(
      Type.Boolean({ description: 'true once the user accepted the agreement' }),
    ),
    agreementVersion: Opt(64, 'the version accepted (GET /agreement)'),
    agreementSha256: Opt(64, 'the sha256 of the agreement text accepted'),
    ...Facts,
  },
  open,
);
export type ByodEnrol = Static<typeof ByodEnrolBody>;

/** Either kind; the secret or the code decides which. */
export const EnrolBody = Type.Union([SchoolEnrolBody, ByodEnrolBody], {
  description: 'a school enrolment (secret) or a BYOD one (code, userName and the accepted agreement)',
});

/** Re-enrolment proof: both or neither (a key without its id, or the reverse, is refused). */
export type EnrolProof = Pick<SchoolEnrol, 'previousDeviceId' | 'previousDeviceKey'>;
