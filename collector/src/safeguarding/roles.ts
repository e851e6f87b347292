// Who may see safeguarding content. Decision: the DSL role only — not `admin`.
// The issue gives admin "users, policy, enrolment" and says screenshots are shown only to
// safeguarding roles; in a school the network manager is usually the admin, and KCSIE
// expects concerns to go to the DSL and deputies only. An admin who is also a deputy DSL gets
// a second account with the `dsl` role, so every view is attributable to the safeguarding
// hat. The admin API token is an `admin` principal and is refused too: automation that needs
// alerts signs in as a DSL account that an admin created.
import type { Role } from '../http/router.ts';

export const SAFEGUARDING: readonly Role[] = ['dsl'];
/** Termly figures: governors get the anonymised variant, DSL and admin the full one. */
export const REPORT_READERS: readonly Role[] = ['governor', 'dsl', 'admin'];
