// Windows where what is typed is a credential: the keyboard source drops their keys unread
// (pure, on the window's class and title, which the window monitor already reads).
import type { ActiveWindowInfo } from '../core/contracts.ts';

/** WM_CLASS / process names of credential prompts, lock and login screens, password managers. */
const CREDENTIAL_APPS =
  /polkit|pkexec|pinentry|gcr-prompter|ssh-askpass|gnome-keyring|kwallet|keepass|1password|bitwarden|lastpass|dashlane|enpass|seahorse|lightdm|gdm|sddm|greeter|xscreensaver|i3lock|light-locker|slock|xsecurelock|gnome-screensaver|kscreenlocker|cinnamon-screensaver|mate-screensaver|xfce4-screensaver/i;

/** Titles of credential prompts in apps that also do other things (a browser's sign-in is left to the extension). */
const CREDENTIAL_TITLES =
  /\b(password|passphrase|passcode|pin code|authenticat(e|ion) required|unlock (keyring|login|database)|sudo|enter pin)\b/i;

export function isCredentialWindow(w: Pick<ActiveWindowInfo, 'app' | 'title'>): boolean {
  return CREDENTIAL_APPS.test(w.app) || CREDENTIAL_TITLES.test(w.title);
}
