// Pure helpers for the Linux screenshot probe (tested on captured output in
// agent/test/capture/testdata/). screenshot-desktop takes the crop of the primary (or first)
// output from `xrandr --current`; with no connected output it crashes, so the probe says so first.

export interface XrandrOutput {
  name: string;
  width: number;
  height: number;
  primary: boolean;
}

/** Connected outputs with a geometry, from `xrandr --current` (pure). */
export function parseXrandrOutputs(stdout: string): XrandrOutput[] {
  const outputs: XrandrOutput[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^(\S+) connected (primary )?(\d+)x(\d+)\+\d+\+\d+/.exec(line);
    if (m)
      outputs.push({ name: m[1]!, primary: m[2] !== undefined, width: Number(m[3]), height: Number(m[4]) });
  }
  return outputs;
}

/** Why screenshots cannot work in this session environment alone (pure); undefined = worth probing X. */
export function screenshotEnvironmentProblem(env: NodeJS.ProcessEnv): string | undefined {
  if (env['WAYLAND_DISPLAY'] || env['XDG_SESSION_TYPE'] === 'wayland')
    return 'Wayland session (screenshots need an X11 session)';
  if (!env['DISPLAY']) return 'no X display';
  return undefined;
}
