/*
 * custodian-service.exe: the Windows service host of the Custodian agent.
 *
 * node.exe does not speak the Service Control Manager protocol, so this small program is the
 * service (LocalSystem, auto start, installed by the MSI). It
 *   1. at start, when the MSI left HKLM\SOFTWARE\Custodian\Agent "Server" (the SERVER property)
 *      and the enrol secret in the protected key below, runs `custodian-agent.exe enrol --server S`
 *      with the secret in CUSTODIAN_ENROL_SECRET (never on a command line), and deletes the
 *      protected key once enrolment succeeded (or the device was enrolled already);
 *   2. runs `custodian-agent.exe run` beside it, stdout/stderr appended to
 *      %ProgramData%\Custodian\agent\logs\agent.log, restarting it 5 s after it exits;
 *      with --browser-files <this folder> (the browser extension's host manifest and launcher);
 *   3. on stop, asks the agent to stop by closing its stdin pipe (`run --stop-on-stdin-eof`:
 *      the agent sends agentStopping and flushes, so IT does not see an unclean stop), waits up to
 *      STOP_GRACE_MS, then ends it (TerminateProcess: the agent's outbox survives a kill, see the
 *      agent's README) and reports STOPPED. The agent runs in a job object that kills it
 *      if this host dies.
 * The enrol secret (issue 17): the MSI never writes it to the registry itself (HKLM\SOFTWARE is
 * readable by every local user). Its deferred custom action runs, as SYSTEM,
 * `custodian-service.exe --store-enrol-secret S`, which puts it in ENROL_KEY with a protected DACL:
 * SYSTEM and Administrators only, nothing inherited. `--enrol-secret-acl` prints that key's DACL
 * (SDDL) or "absent", for IT and the Wine test. An older install's readable "EnrolSecret" value
 * is moved into the protected key at start.
 * Built with Debian's mingw-w64 (packaging/src/msi.ts); about 30 KB, no .NET needed.
 */
#include <windows.h>
#include <sddl.h>
#include <stdio.h>
#include <wchar.h>

#define SERVICE_NAME L"CustodianAgent"
#define REG_KEY L"SOFTWARE\\Custodian\\Agent"
#define ENROL_KEY L"SOFTWARE\\Custodian\\Agent\\Enrolment"
/* Protected (no inheritance): full control for SYSTEM and Administrators, nobody else. */
#define ENROL_KEY_DACL L"D:P(A;;KA;;;SY)(A;;KA;;;BA)"
/* How long a stopping agent may take before it is ended (its own stop takes about a second). */
#define STOP_GRACE_MS 10000

static SERVICE_STATUS_HANDLE g_status_handle;
static SERVICE_STATUS g_status;
static HANDLE g_stop_event;
/* Set once the agent has exited after a stop request (the stop waits for it, see control_handler). */
static HANDLE g_agent_gone;
static HANDLE g_job;
static wchar_t g_dir[MAX_PATH];
static wchar_t g_log_dir[MAX_PATH];

static void report(DWORD state, DWORD exit_code) {
  g_status.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
  g_status.dwCurrentState = state;
  g_status.dwControlsAccepted = state == SERVICE_RUNNING ? SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN : 0;
  g_status.dwWin32ExitCode = exit_code;
  g_status.dwWaitHint = state == SERVICE_RUNNING || state == SERVICE_STOPPED ? 0 : 20000;
  SetServiceStatus(g_status_handle, &g_status);
}

static void host_log(const wchar_t *msg) {
  wchar_t path[MAX_PATH];
  swprintf(path, MAX_PATH, L"%ls\\service-host.log", g_log_dir);
  FILE *f = _wfopen(path, L"a");
  if (!f) return;
  SYSTEMTIME t;
  GetSystemTime(&t);
  fwprintf(f, L"%04d-%02d-%02dT%02d:%02d:%02dZ %ls\n", t.wYear, t.wMonth, t.wDay, t.wHour, t.wMinute, t.wSecond, msg);
  fclose(f);
}

static DWORD WINAPI control_handler(DWORD control, DWORD type, LPVOID data, LPVOID ctx) {
  (void)type;
  (void)data;
  (void)ctx;
  if (control == SERVICE_CONTROL_STOP || control == SERVICE_CONTROL_SHUTDOWN) {
    report(SERVICE_STOP_PENDING, NO_ERROR);
    SetEvent(g_stop_event);
    /* Answer once the agent is gone (a clean stop takes about a second, STOP_GRACE_MS at most):
     * an installer that does not wait for STOPPED (Wine's msiexec) then finds its files free. */
    WaitForSingleObject(g_agent_gone, STOP_GRACE_MS + 2000);
    return NO_ERROR;
  }
  return control == SERVICE_CONTROL_INTERROGATE ? NO_ERROR : ERROR_CALL_NOT_IMPLEMENTED;
}

/*
 * Starts custodian-agent.exe with `args`, output appended to agent.log, inside the job. With
 * `stdin_write`, the agent's stdin is a pipe whose write end is returned there (closing it is the
 * stop request); otherwise stdin is NUL.
 */
static HANDLE start_agent(const wchar_t *args, HANDLE *stdin_write) {
  wchar_t cmd[4096], log_path[MAX_PATH];
  swprintf(cmd, 4096, L"\"%ls\\custodian-agent.exe\" %ls", g_dir, args);
  swprintf(log_path, MAX_PATH, L"%ls\\agent.log", g_log_dir);
  SECURITY_ATTRIBUTES sa = {sizeof(sa), NULL, TRUE};
  HANDLE log = CreateFileW(log_path, FILE_APPEND_DATA, FILE_SHARE_READ | FILE_SHARE_WRITE, &sa, OPEN_ALWAYS,
                           FILE_ATTRIBUTE_NORMAL, NULL);
  HANDLE nul = INVALID_HANDLE_VALUE, pipe_read = NULL, pipe_write = NULL;
  if (stdin_write) {
    *stdin_write = NULL;
    if (!CreatePipe(&pipe_read, &pipe_write, &sa, 0)) {
      pipe_read = NULL;
      pipe_write = NULL;
    } else {
      SetHandleInformation(pipe_write, HANDLE_FLAG_INHERIT, 0);
    }
  }
  if (!pipe_read)
    nul = CreateFileW(L"NUL", GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, &sa, OPEN_EXISTING, 0, NULL);
  STARTUPINFOW si = {0};
  si.cb = sizeof(si);
  si.dwFlags = STARTF_USESTDHANDLES;
  si.hStdInput = pipe_read ? pipe_read : nul;
  si.hStdOutput = log;
  si.hStdError = log;
  PROCESS_INFORMATION pi = {0};
  BOOL ok = CreateProcessW(NULL, cmd, NULL, NULL, TRUE, CREATE_NO_WINDOW | CREATE_SUSPENDED, NULL, g_dir, &si, &pi);
  if (log != INVALID_HANDLE_VALUE) CloseHandle(log);
  if (nul != INVALID_HANDLE_VALUE) CloseHandle(nul);
  if (pipe_read) CloseHandle(pipe_read);
  if (!ok && pipe_write) CloseHandle(pipe_write);
  if (ok && stdin_write) *stdin_write = pipe_write;
  if (!ok) {
    wchar_t msg[512];
    swprintf(msg, 512, L"cannot start custodian-agent.exe (error %lu)", GetLastError());
    host_log(msg);
    return NULL;
  }
  AssignProcessToJobObject(g_job, pi.hProcess);
  ResumeThread(pi.hThread);
  CloseHandle(pi.hThread);
  return pi.hProcess;
}

/* Waits for a helper run of the agent; a service stop ends it. FALSE when stopping. */
static BOOL wait_helper(HANDLE p, DWORD timeout_ms, DWORD *code) {
  HANDLE waits[2] = {g_stop_event, p};
  DWORD which = WaitForMultipleObjects(2, waits, FALSE, timeout_ms);
  if (which != WAIT_OBJECT_0 + 1) TerminateProcess(p, 1);
  GetExitCodeProcess(p, code);
  CloseHandle(p);
  return which != WAIT_OBJECT_0;
}

static BOOL read_value(HKEY key, const wchar_t *name, wchar_t *out, DWORD chars) {
  DWORD size = chars * sizeof(wchar_t), type = 0;
  if (RegQueryValueExW(key, name, NULL, &type, (BYTE *)out, &size) != ERROR_SUCCESS || type != REG_SZ) return FALSE;
  out[chars - 1] = 0;
  return out[0] != 0;
}

/* Creates (or opens) ENROL_KEY and sets its protected DACL, also on a key that existed before. */
static LONG open_enrol_key(HKEY *out) {
  PSECURITY_DESCRIPTOR sd = NULL;
  if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(ENROL_KEY_DACL, SDDL_REVISION_1, &sd, NULL))
    return (LONG)GetLastError();
  SECURITY_ATTRIBUTES sa = {sizeof(sa), sd, FALSE};
  DWORD disposition = 0;
  LONG rc = RegCreateKeyExW(HKEY_LOCAL_MACHINE, ENROL_KEY, 0, NULL, 0,
                            KEY_QUERY_VALUE | KEY_SET_VALUE | WRITE_DAC | KEY_WOW64_64KEY, &sa, out, &disposition);
  if (rc == ERROR_SUCCESS) {
    rc = RegSetKeySecurity(*out, DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION, sd);
    if (rc != ERROR_SUCCESS) RegCloseKey(*out);
  }
  LocalFree(sd);
  return rc;
}

/* `--store-enrol-secret S` (the MSI's custom action, as SYSTEM): 0 when stored. */
static int store_enrol_secret(wchar_t *secret) {
  HKEY key;
  LONG rc = open_enrol_key(&key);
  if (rc == ERROR_SUCCESS) {
    rc = RegSetValueExW(key, L"EnrolSecret", 0, REG_SZ, (const BYTE *)secret,
                        (DWORD)((wcslen(secret) + 1) * sizeof(wchar_t)));
    RegCloseKey(key);
  }
  SecureZeroMemory(secret, wcslen(secret) * sizeof(wchar_t));
  if (rc != ERROR_SUCCESS) fwprintf(stderr, L"cannot store the enrol secret (error %ld)\n", rc);
  return rc == ERROR_SUCCESS ? 0 : 1;
}

/* `--enrol-secret-acl`: the protected key's DACL as SDDL, or "absent". */
static int print_enrol_acl(void) {
  HKEY key;
  if (RegOpenKeyExW(HKEY_LOCAL_MACHINE, ENROL_KEY, 0, READ_CONTROL | KEY_WOW64_64KEY, &key) != ERROR_SUCCESS) {
    wprintf(L"absent\n");
    return 0;
  }
  BYTE buf[4096];
  DWORD size = sizeof(buf);
  LPWSTR sddl = NULL;
  LONG rc = RegGetKeySecurity(key, DACL_SECURITY_INFORMATION, (PSECURITY_DESCRIPTOR)buf, &size);
  RegCloseKey(key);
  if (rc != ERROR_SUCCESS ||
      !ConvertSecurityDescriptorToStringSecurityDescriptorW((PSECURITY_DESCRIPTOR)buf, SDDL_REVISION_1,
                                                            DACL_SECURITY_INFORMATION, &sddl, NULL)) {
    fwprintf(stderr, L"cannot read the key's security (error %ld)\n", rc);
    return 1;
  }
  wprintf(L"%ls\n", sddl);
  LocalFree(sddl);
  return 0;
}

/* First start after an install with SERVER= and ENROL_SECRET=: enrol, then forget the secret. */
static void enrol_from_registry(void) {
  HKEY key, protected_key;
  if (RegOpenKeyExW(HKEY_LOCAL_MACHINE, REG_KEY, 0, KEY_READ | KEY_SET_VALUE | KEY_WOW64_64KEY, &key) != ERROR_SUCCESS)
    return;
  wchar_t server[1024], secret[512];
  /* An older MSI left the secret readable beside Server: move it into the protected key first. */
  if (read_value(key, L"EnrolSecret", secret, 512)) {
    if (store_enrol_secret(secret) == 0) {
      RegDeleteValueW(key, L"EnrolSecret");
      host_log(L"moved the enrol secret into the protected registry key");
    } else {
      host_log(L"could not move the enrol secret into the protected registry key");
    }
  }
  BOOL have_secret = FALSE;
  if (RegOpenKeyExW(HKEY_LOCAL_MACHINE, ENROL_KEY, 0, KEY_QUERY_VALUE | KEY_WOW64_64KEY, &protected_key) ==
      ERROR_SUCCESS) {
    have_secret = read_value(protected_key, L"EnrolSecret", secret, 512);
    RegCloseKey(protected_key);
  }
  if (read_value(key, L"Server", server, 1024) && have_secret) {
    wchar_t args[1200];
    swprintf(args, 1200, L"enrol --server \"%ls\"", server);
    SetEnvironmentVariableW(L"CUSTODIAN_ENROL_SECRET", secret);
    HANDLE p = start_agent(args, NULL);
    SetEnvironmentVariableW(L"CUSTODIAN_ENROL_SECRET", NULL);
    SecureZeroMemory(secret, sizeof(secret));
    DWORD code = 1;
    BOOL running = TRUE;
    if (p) running = wait_helper(p, 120000, &code);
    /* 0: enrolled. The agent refuses a second enrolment; `status` (exit 0 when enrolled) tells. */
    if (running && code != 0) {
      HANDLE s = start_agent(L"status", NULL);
      if (s) running = wait_helper(s, 60000, &code);
    }
    if (!running) {
      code = 1;
    } else if (code == 0) {
      RegDeleteKeyExW(HKEY_LOCAL_MACHINE, ENROL_KEY, KEY_WOW64_64KEY, 0);
      host_log(L"enrolled from the installer's properties; enrol secret removed from the registry");
    } else {
      host_log(L"enrolment from the installer's properties failed; retrying at the next start");
    }
    if (!running) host_log(L"stopped while enrolling");
  }
  RegCloseKey(key);
}

static void WINAPI service_main(DWORD argc, LPWSTR *argv) {
  (void)argc;
  (void)argv;
  g_status_handle = RegisterServiceCtrlHandlerExW(SERVICE_NAME, control_handler, NULL);
  if (!g_status_handle) return;
  report(SERVICE_START_PENDING, NO_ERROR);
  g_stop_event = CreateEventW(NULL, TRUE, FALSE, NULL);
  g_agent_gone = CreateEventW(NULL, TRUE, FALSE, NULL);
  g_job = CreateJobObjectW(NULL, NULL);
  JOBOBJECT_EXTENDED_LIMIT_INFORMATION limits = {0};
  limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
  SetInformationJobObject(g_job, JobObjectExtendedLimitInformation, &limits, sizeof(limits));
  report(SERVICE_RUNNING, NO_ERROR);
  host_log(L"service started");
  enrol_from_registry();
  while (WaitForSingleObject(g_stop_event, 0) == WAIT_TIMEOUT) {
    HANDLE stop_pipe = NULL;
    /* --browser-files: the agent keeps the browser host's manifest and launcher in this folder. */
    wchar_t run_args[MAX_PATH + 64];
    swprintf(run_args, MAX_PATH + 64, L"run --stop-on-stdin-eof --browser-files \"%ls\"", g_dir);
    HANDLE agent = start_agent(run_args, &stop_pipe);
    HANDLE waits[2] = {g_stop_event, agent};
    DWORD which = agent ? WaitForMultipleObjects(2, waits, FALSE, INFINITE) : WAIT_OBJECT_0 + 1;
    if (stop_pipe) CloseHandle(stop_pipe);
    if (which == WAIT_OBJECT_0) {
      if (agent && WaitForSingleObject(agent, STOP_GRACE_MS) == WAIT_TIMEOUT) {
        host_log(L"agent did not stop within the grace period; ending it");
        TerminateProcess(agent, 0);
      } else if (agent) {
        host_log(L"agent stopped cleanly");
      }
    } else {
      host_log(L"agent exited; restarting in 5 s");
      WaitForSingleObject(g_stop_event, 5000);
    }
    if (agent) CloseHandle(agent);
  }
  SetEvent(g_agent_gone);
  host_log(L"service stopped");
  CloseHandle(g_job);
  report(SERVICE_STOPPED, NO_ERROR);
}

int wmain(int argc, wchar_t **argv) {
  if (argc == 3 && wcscmp(argv[1], L"--store-enrol-secret") == 0) return store_enrol_secret(argv[2]);
  if (argc == 2 && wcscmp(argv[1], L"--enrol-secret-acl") == 0) return print_enrol_acl();
  GetModuleFileNameW(NULL, g_dir, MAX_PATH);
  wchar_t *slash = wcsrchr(g_dir, L'\\');
  if (slash) *slash = 0;
  wchar_t program_data[MAX_PATH];
  if (!GetEnvironmentVariableW(L"ProgramData", program_data, MAX_PATH)) wcscpy(program_data, L"C:\\ProgramData");
  swprintf(g_log_dir, MAX_PATH, L"%ls\\Custodian", program_data);
  CreateDirectoryW(g_log_dir, NULL);
  wcscat(g_log_dir, L"\\agent");
  CreateDirectoryW(g_log_dir, NULL);
  wcscat(g_log_dir, L"\\logs");
  CreateDirectoryW(g_log_dir, NULL);
  SERVICE_TABLE_ENTRYW table[] = {{(LPWSTR)SERVICE_NAME, service_main}, {NULL, NULL}};
  if (!StartServiceCtrlDispatcherW(table)) {
    fwprintf(stderr, L"custodian-service.exe is the Custodian agent's Windows service; install it with the MSI\n");
    return 1;
  }
  return 0;
}
