// Commands from staff to a connected agent (LOCK_NOW, RESCAN_USB, REFRESH_INVENTORY) and the
// result the agent reports back.
//
// With several collector processes (bus: nats) the device's session may be on another process:
// the command then travels over the bus to that process, which sends it and records it in the
// device's status there (so the result, which arrives there, finds it); the status comes back to
// every console through the bus.
//
// A command goes only to a device with a live session; it is NOT queued. A lock or a rescan
// carried out hours later, when whoever asked for it has moved on, would surprise the pupil and
// IT alike, so an offline device is refused with CUST_ERR_DEVICE_OFFLINE (409) and the caller
// can ask again once it is online. Each command is audited before it is sent, and its result is
// audited when the agent reports it; the last COMMANDS_KEPT commands and their results are kept
// in the device's live status, which is what the console shows. A result for a command id this
// collector did not send is logged and dropped: the agent cannot invent entries.
import { CustodianError, ErrorCode, type ICollectorMessage, v1 } from '@custodian/protocol';
import type { AuditFn } from '../auth/audit.ts';
import type { StatusTracker } from '../live/status.ts';
import type { Logger } from '../log.ts';
import { randomId } from '../store/records.ts';
import type { DeviceCommandRecord } from '../store/types.ts';

export const COMMAND_KINDS = ['LOCK_NOW', 'RESCAN_USB', 'REFRESH_INVENTORY'] as const;
export type CommandKind = (typeof COMMAND_KINDS)[number];
/** Commands (with their results) kept per device in the live status. */
export const COMMANDS_KEPT = 10;
const MAX_ERROR_CHARS = 500;

export const COMMAND_AUDIT = { sent: 'device.command', result: 'device.command-result' } as const;

export interface CommandsOptions {
  status: StatusTracker;
  audit: AuditFn;
  log: Logger;
  now: () => number;
  /** The device has a session on this process. */
  isLocal: (deviceId: string) => boolean;
  /** The device has a session on this process or (bus: nats) on another one. */
  isConnected: (deviceId: string) => boolean;
  /** Sends to the device's live session on this process; false when it has none. */
  deliver: (deviceId: string, msg: ICollectorMessage) => boolean;
  /** Hands the command to the process holding the device's session; false if it could not send it. */
  remote?: (deviceId: string, record: DeviceCommandRecord) => Promise<boolean>;
}

export class DeviceCommands {
  private readonly o: CommandsOptions;

  constructor(options: CommandsOptions) {
    this.o = options;
  }

  /** Audits, sends and records a command. Throws DEVICE_OFFLINE when the device has no session. */
  async send(
    deviceId: string,
    kind: CommandKind,
    reason: string,
    actor: string,
    auditDetails: Record<string, unknown> = {},
  ): Promise<DeviceCommandRecord> {
    const record: DeviceCommandRecord = {
      id: randomId(),
      kind,
      requestedBy: actor,
      requestedAt: this.o.now(),
      ...(reason ? { reason } : {}),
    };
    // Checked before the audit so a refused command leaves no "sent" record; checked again by
    // deliver() because the session can end in between (then the audit says it was not delivered).
    if (!this.o.isConnected(deviceId)) throw offline(deviceId);
    await this.o.audit(actor, COMMAND_AUDIT.sent, `device:${deviceId}`, {
      ...auditDetails,
      commandId: record.id,
      kind,
      ...(reason ? { reason } : {}),
    });
    const sent = this.o.isLocal(deviceId)
      ? await this.deliverLocal(deviceId, record)
      : ((await this.o.remote?.(deviceId, record)) ?? false);
    if (!sent) {
      await this.o.audit(actor, COMMAND_AUDIT.result, `device:${deviceId}`, {
        commandId: record.id,
        kind,
        ok: false,
        error: 'not delivered: the session ended',
      });
      throw offline(deviceId);
    }
    return record;
  }

  /**
   * Sends an (already audited) command to this process's session of the device and records it
   * in the device's status; false when there is no session here. Also the bus's entry point for
   * a command made on another process.
   */
  async deliverLocal(deviceId: string, record: DeviceCommandRecord): Promise<boolean> {
    const msg = { command: { commandId: record.id, kind: v1.Command.Kind[record.kind] } };
    if (!this.o.deliver(deviceId, msg)) return false;
    const current = this.o.status.get(deviceId).commands ?? [];
    await this.o.status.patch(deviceId, { commands: [...current, record].slice(-COMMANDS_KEPT) });
    this.o.log.info(
      { deviceId, commandId: record.id, kind: record.kind, actor: record.requestedBy },
      'command sent',
    );
    return true;
  }

  /** Records the agent's CommandResult against the command it answers. */
  async onResult(
    deviceId: string,
    result: { commandId?: string; ok?: boolean; error?: string },
  ): Promise<void> {
    const commands = this.o.status.get(deviceId).commands ?? [];
    const i = commands.findIndex((c) => c.id === result.commandId);
    const sent = commands[i];
    if (!sent || sent.result) {
      this.o.log.warn(
        { deviceId, code: ErrorCode.UNEXPECTED_MESSAGE },
        'result for a command not awaiting one',
      );
      return;
    }
    const outcome = {
      ok: result.ok === true,
      error: (result.error ?? '').slice(0, MAX_ERROR_CHARS),
      at: this.o.now(),
    };
    const next = commands.map((c, k) => (k === i ? { ...c, result: outcome } : c));
    // Audited before it shows: whoever sees the result can find its audit record.
    await this.o.audit(`device:${deviceId}`, COMMAND_AUDIT.result, `device:${deviceId}`, {
      commandId: sent.id,
      kind: sent.kind,
      ok: outcome.ok,
      ...(outcome.error ? { error: outcome.error } : {}),
    });
    await this.o.status.patch(deviceId, { commands: next });
    this.o.log.info({ deviceId, commandId: sent.id, kind: sent.kind, ok: outcome.ok }, 'command result');
  }
}

function offline(deviceId: string): CustodianError {
  return new CustodianError(
    ErrorCode.DEVICE_OFFLINE,
    `device ${deviceId} is not connected; commands are not queued, try again when it is online`,
  );
}
