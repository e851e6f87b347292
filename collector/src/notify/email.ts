// Email over SMTP (nodemailer). TLS settings: `tls` (implicit TLS, port 465), `starttls`
// (STARTTLS required: a relay that does not offer it is refused, so the password never crosses
// in clear), `none` (plain SMTP, for a relay on the collector's own machine). Certificates are
// always verified. One connection per message: the volume is a handful a day.
import nodemailer from 'nodemailer';
import type { Message } from './content.ts';
import type { SmtpSettings } from './settings.ts';

export interface SendResult {
  /** The relay's answer (e.g. `250 OK: queued as …`), for the delivery log. */
  detail: string;
}

export async function sendEmail(
  smtp: SmtpSettings,
  to: string,
  message: Message,
  messageId: string,
): Promise<SendResult> {
  const transport = nodemailer.createTransport({
    host: smtp.host,
    port: smtp.port,
    secure: smtp.security === 'tls',
    requireTLS: smtp.security === 'starttls',
    ignoreTLS: smtp.security === 'none',
    ...(smtp.user ? { auth: { user: smtp.user, pass: smtp.password } } : {}),
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 20_000,
    tls: { rejectUnauthorized: true },
  });
  try {
    const info = await transport.sendMail({
      from: smtp.from,
      to,
      subject: message.subject,
      text: message.text,
      // Stable per (message, recipient): a resend after a crash can be recognised as the same mail.
      messageId: `<${messageId}@custodian.invalid>`,
    });
    return { detail: String(info.response ?? 'accepted').slice(0, 200) };
  } finally {
    transport.close();
  }
}
