// Enrols many school devices through the real enrolment API (POST /api/v1/enrol with the
// collector's enrol secret), a wave of `concurrency` requests at a time: the load harnesses
// (bench, soak campaigns, the scale simulator) all need a fleet of device credentials before
// their protocol clients can say Hello. Machine ids are `<prefix>-<tag>-<i>` so a run's devices
// are recognisable in the store and two runs on one store do not collide.

export interface EnrolledDevice {
  deviceId: string;
  deviceKey: string;
}

export interface EnrolManyOptions {
  /** Names the devices: machine id `<prefix>-<tag>-<i>`, hostname `<prefix>-<i>`. */
  prefix?: string;
  /** Distinguishes runs (a seed, a uuid); default a random one. */
  tag?: string | number;
  /** Index of the first device (enrolling more devices into a fleet already enrolled). */
  first?: number;
  /** Requests in flight at once (default 50). */
  concurrency?: number;
}

/** Enrols `n` devices with the enrol secret; throws on the first refusal. */
export async function enrolMany(
  url: string,
  secret: string,
  n: number,
  o: EnrolManyOptions = {},
): Promise<EnrolledDevice[]> {
  const prefix = o.prefix ?? 'bench';
  const tag = o.tag ?? crypto.randomUUID();
  const first = o.first ?? 0;
  const concurrency = o.concurrency ?? 50;
  const one = async (i: number): Promise<EnrolledDevice> => {
    const res = await fetch(`${url}/api/v1/enrol`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        secret,
        machineId: `${prefix}-${tag}-${i}`,
        hostname: `${prefix}-${i}`,
        os: 'linux',
        serial: `${prefix.toUpperCase()}${i}`,
      }),
    });
    if (res.status !== 200) throw new Error(`enrol ${prefix}-${i}: HTTP ${res.status}: ${await res.text()}`);
    const { deviceId, deviceKey } = (await res.json()) as EnrolledDevice;
    return { deviceId, deviceKey };
  };
  const out: EnrolledDevice[] = [];
  for (let i = 0; i < n; i += concurrency)
    out.push(
      ...(await Promise.all(
        Array.from({ length: Math.min(concurrency, n - i) }, (_, j) => one(first + i + j)),
      )),
    );
  return out;
}
