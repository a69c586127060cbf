// pygration-freeze: freezes every thread of a process for a few milliseconds (PTRACE_SEIZE + PTRACE_INTERRUPT,
// as CRIU's freezer does), reads each thread's rip/rsp/rbp and other general registers, detaches, and prints them as
// one JSON object.
//
// Usage: pygration-freeze PID [--timeout-ms N] [--hold-ms N] [--stack-bytes N]
//   --timeout-ms  hard limit (default 2000): on expiry every thread is detached and the helper exits 124.
//   --stack-bytes how much of each thread's stack, from rsp up to the end of its mapping, to copy while the thread
//                 is frozen (default 524288; 0: none): a running thread's frames change as soon as it resumes.
//   --hold-ms     keep the threads frozen this long before detaching (tests only: lets a test kill us mid-freeze).
// Output (stdout, one line): {"pid":P,"threads":[{"tid":T,"rip":"0x..","rsp":"0x..","rbp":"0x..","stop":"interrupt",
//   "gprs":["0x..",...: rax rbx rcx rdx rsi rdi r8-r15]}, {"tid":T,"error":"EPERM","message":".."}],"frozenUs":N}; with
//   --stack-bytes, each thread also has "stack":"<base64 of the bytes from rsp up>".
// Exit: 0 (per-thread errors are in the JSON), 2 usage, 3 the task list could not be read, 124 timed out.
//
// Read-only by construction: the only ptrace requests used are SEIZE, INTERRUPT, GETREGS and DETACH, and stacks are
// copied with process_vm_readv. The tracee's memory and registers are never written; a signal that arrived during the freeze is handed back on DETACH. If this
// helper dies at any point (even SIGKILL), the kernel detaches its tracees, and they resume.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/types.h>
#include <sys/time.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef PTRACE_SEIZE
#define PTRACE_SEIZE 0x4206
#endif
#ifndef PTRACE_INTERRUPT
#define PTRACE_INTERRUPT 0x4207
#endif
#ifndef PTRACE_EVENT_STOP
#define PTRACE_EVENT_STOP 128
#endif
#ifndef __WALL
#define __WALL 0x40000000
#endif

#define MAX_THREADS 4096

struct thread {
  pid_t tid;
  int seized;   /* PTRACE_SEIZE succeeded */
  int stopped;  /* waitpid reported a ptrace stop: DETACH is possible */
  int detached;
  int deliver;  /* signal to hand back on detach (a signal-delivery stop) */
  int err;      /* errno of the failing step, 0 when the registers were read */
  const char *step;
  const char *stop; /* interrupt | group-stop | signal */
  struct user_regs_struct regs;
  unsigned char *stack; /* copy of [rsp, rsp + stack_len) taken while frozen */
  size_t stack_len;
};

/* Stacks copied in all, at most: beyond it threads get no copy (the caller then reads live memory). */
#define MAX_TOTAL_STACK (96UL << 20)

static struct thread threads[MAX_THREADS];
static volatile sig_atomic_t nthreads;

/* Detaches every stopped tracee; async-signal-safe (only syscalls), so the signal handlers can call it. */
static void release_all(void) {
  for (int i = 0; i < nthreads; i++) {
    struct thread *t = &threads[i];
    /* DETACH needs a ptrace-stopped tracee; one not stopped (yet) fails here and is released when we exit. */
    if (t->seized && !t->detached) {
      ptrace(PTRACE_DETACH, t->tid, 0, (void *)(long)t->deliver);
      t->detached = 1;
    }
  }
}

static void on_fatal(int sig) {
  release_all();
  _exit(sig == SIGALRM ? 124 : 128 + sig);
}

/* The errno's name (strerrorname_np is too new for older glibc). */
static const char *errname(int e) {
  switch (e) {
    case EPERM: return "EPERM";
    case ESRCH: return "ESRCH";
    case EACCES: return "EACCES";
    case ENOENT: return "ENOENT";
    case EBUSY: return "EBUSY";
    case EINVAL: return "EINVAL";
    case ECHILD: return "ECHILD";
    case ETIMEDOUT: return "ETIMEDOUT";
    default: return "EIO";
  }
}

static int known(pid_t tid) {
  for (int i = 0; i < nthreads; i++)
    if (threads[i].tid == tid) return 1;
  return 0;
}

/* Seizes and interrupts every thread of pid not yet known; returns how many new threads were found, -1 on error. */
static int seize_new(pid_t pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
  DIR *d = opendir(path);
  if (!d) return -1;
  int found = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    char *end;
    long tid = strtol(e->d_name, &end, 10);
    if (*end || tid <= 0 || known((pid_t)tid) || nthreads >= MAX_THREADS) continue;
    struct thread *t = &threads[nthreads];
    memset(t, 0, sizeof *t);
    t->tid = (pid_t)tid;
    if (ptrace(PTRACE_SEIZE, t->tid, 0, 0) != 0) {
      t->err = errno;
      t->step = "PTRACE_SEIZE";
    } else {
      t->seized = 1;
      if (ptrace(PTRACE_INTERRUPT, t->tid, 0, 0) != 0) {
        t->err = errno;
        t->step = "PTRACE_INTERRUPT";
      }
    }
    nthreads++; /* published after the entry is complete, for release_all */
    found++;
  }
  closedir(d);
  return found;
}

/* Interprets one waitpid status of a thread; returns 1 when the thread is settled (stopped, or gone). */
static int settle(struct thread *t, int status) {
  if (WIFEXITED(status) || WIFSIGNALED(status)) {
    t->err = ESRCH;
    t->step = "waitpid (the thread exited)";
    return 1;
  }
  if (!WIFSTOPPED(status)) return 0;
  t->stopped = 1;
  int sig = WSTOPSIG(status);
  int event = status >> 16;
  if (event == PTRACE_EVENT_STOP) {
    t->stop = (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU) ? "group-stop" : "interrupt";
  } else if (event == 0) {
    /* A signal arrived before our interrupt: hand it back on detach, so the thread sees it as if we were not here. */
    t->stop = "signal";
    t->deliver = sig;
  } else {
    t->stop = "event";
  }
  return 1;
}

/*
 * Waits for every seized thread to stop, polling, until `deadline_ms` has passed: a thread that does not stop in
 * time (uninterruptible sleep, a zombie group leader) gets ETIMEDOUT and no registers, without holding up the
 * others; it stays seized but running until we exit, when the kernel releases it.
 */
static void wait_all(long deadline_ms) {
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    int pending = 0;
    for (int i = 0; i < nthreads; i++) {
      struct thread *t = &threads[i];
      if (!t->seized || t->err || t->stopped) continue;
      int status;
      pid_t r = waitpid(t->tid, &status, __WALL | WNOHANG);
      if (r < 0 && errno != EINTR) {
        t->err = errno;
        t->step = "waitpid";
      } else if (r <= 0 || !settle(t, status)) {
        pending++;
      }
    }
    if (!pending) return;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long elapsed = (now.tv_sec - start.tv_sec) * 1000L + (now.tv_nsec - start.tv_nsec) / 1000000L;
    if (elapsed >= deadline_ms) break;
    struct timespec nap = {0, 50000};
    nanosleep(&nap, NULL);
  }
  for (int i = 0; i < nthreads; i++) {
    struct thread *t = &threads[i];
    if (t->seized && !t->err && !t->stopped) {
      t->err = ETIMEDOUT;
      t->step = "waitpid (the thread did not stop in time)";
    }
  }
}

/* The end of the mapping of pid that contains addr, from /proc/PID/maps; 0 when none does. */
static unsigned long mapping_end(long pid, unsigned long addr) {
  char path[64], line[512];
  snprintf(path, sizeof path, "/proc/%ld/maps", pid);
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  unsigned long end = 0;
  while (fgets(line, sizeof line, f)) {
    unsigned long a, b;
    if (sscanf(line, "%lx-%lx", &a, &b) == 2 && addr >= a && addr < b) {
      end = b;
      break;
    }
  }
  fclose(f);
  return end;
}

/* Copies up to `cap` bytes of the thread's stack from rsp while it is frozen. */
static void copy_stack(long pid, struct thread *t, size_t cap, size_t *total) {
  unsigned long sp = t->regs.rsp, end = mapping_end(pid, sp);
  if (!end || end <= sp) return;
  size_t len = end - sp;
  if (len > cap) len = cap;
  if (*total + len > MAX_TOTAL_STACK) return;
  t->stack = malloc(len);
  if (!t->stack) return;
  struct iovec local = {t->stack, len}, remote = {(void *)sp, len};
  ssize_t n = process_vm_readv(t->tid, &local, 1, &remote, 1, 0);
  if (n <= 0) {
    free(t->stack);
    t->stack = NULL;
    return;
  }
  t->stack_len = (size_t)n;
  *total += (size_t)n;
}

static void put_base64(const unsigned char *p, size_t n) {
  static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
    putchar(tab[v >> 18]);
    putchar(tab[(v >> 12) & 63]);
    putchar(tab[(v >> 6) & 63]);
    putchar(tab[v & 63]);
  }
  if (n - i == 1) {
    unsigned v = (unsigned)p[i] << 16;
    printf("%c%c==", tab[v >> 18], tab[(v >> 12) & 63]);
  } else if (n - i == 2) {
    unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8;
    printf("%c%c%c=", tab[v >> 18], tab[(v >> 12) & 63], tab[(v >> 6) & 63]);
  }
}

static long arg_ms(const char *s) {
  char *end;
  long v = strtol(s, &end, 10);
  return (*end || v < 0) ? -1 : v;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: pygration-freeze PID [--timeout-ms N] [--hold-ms N]\n");
    return 2;
  }
  char *end;
  long pid = strtol(argv[1], &end, 10);
  long timeout_ms = 2000, hold_ms = 0, stack_bytes = 512 * 1024;
  if (*end || pid <= 0) {
    fprintf(stderr, "pygration-freeze: bad PID %s\n", argv[1]);
    return 2;
  }
  for (int i = 2; i + 1 < argc; i += 2) {
    long v = arg_ms(argv[i + 1]);
    if (v < 0) return 2;
    if (!strcmp(argv[i], "--timeout-ms")) timeout_ms = v;
    else if (!strcmp(argv[i], "--hold-ms")) hold_ms = v;
    else if (!strcmp(argv[i], "--stack-bytes")) stack_bytes = v;
    else return 2;
  }

  /* Every way out detaches first: the hard timeout (SIGALRM) and the catchable termination signals. */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_fatal;
  sigfillset(&sa.sa_mask);
  int fatal[] = {SIGALRM, SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGQUIT, SIGUSR1, SIGUSR2};
  for (unsigned i = 0; i < sizeof fatal / sizeof fatal[0]; i++) sigaction(fatal[i], &sa, NULL);
  struct itimerval it;
  memset(&it, 0, sizeof it);
  it.it_value.tv_sec = timeout_ms / 1000;
  it.it_value.tv_usec = (timeout_ms % 1000) * 1000;
  if (timeout_ms == 0) it.it_value.tv_usec = 1;
  setitimer(ITIMER_REAL, &it, NULL);

  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  /* Threads created while we seize are picked up by listing again, as CRIU does, a bounded number of times. */
  int passes = 0, n;
  while ((n = seize_new((pid_t)pid)) > 0 && ++passes < 8) {
  }
  if (n < 0 && nthreads == 0) {
    int e = errno;
    printf("{\"pid\":%ld,\"error\":\"%s\",\"message\":\"cannot list /proc/%ld/task: %s\"}\n", pid, errname(e), pid, strerror(e));
    return 3;
  }
  wait_all(timeout_ms / 4 > 0 ? timeout_ms / 4 : 1);
  for (int i = 0; i < nthreads; i++) {
    struct thread *t = &threads[i];
    if (!t->seized || t->err) continue;
    if (ptrace(PTRACE_GETREGS, t->tid, 0, &t->regs) != 0) {
      t->err = errno;
      t->step = "PTRACE_GETREGS";
    }
  }
  size_t total = 0;
  for (int i = 0; i < nthreads && stack_bytes > 0; i++) {
    if (threads[i].seized && !threads[i].err) copy_stack(pid, &threads[i], (size_t)stack_bytes, &total);
  }
  if (hold_ms > 0) {
    fprintf(stderr, "frozen\n");
    fflush(stderr);
    struct timespec h = {hold_ms / 1000, (hold_ms % 1000) * 1000000L};
    while (nanosleep(&h, &h) != 0 && errno == EINTR) {
    }
  }
  release_all();
  clock_gettime(CLOCK_MONOTONIC, &t1);
  /* Detached: nothing below can leave a thread stopped. */
  it.it_value.tv_sec = 0;
  it.it_value.tv_usec = 0;
  setitimer(ITIMER_REAL, &it, NULL);
  long frozen_us = (t1.tv_sec - t0.tv_sec) * 1000000L + (t1.tv_nsec - t0.tv_nsec) / 1000;

  printf("{\"pid\":%ld,\"threads\":[", pid);
  for (int i = 0; i < nthreads; i++) {
    struct thread *t = &threads[i];
    if (i) putchar(',');
    if (t->err) {
      printf("{\"tid\":%d,\"error\":\"%s\",\"message\":\"%s: %s\"}", (int)t->tid, errname(t->err), t->step, strerror(t->err));
    } else {
      printf("{\"tid\":%d,\"rip\":\"0x%llx\",\"rsp\":\"0x%llx\",\"rbp\":\"0x%llx\",\"stop\":\"%s\"", (int)t->tid,
             (unsigned long long)t->regs.rip, (unsigned long long)t->regs.rsp, (unsigned long long)t->regs.rbp, t->stop);
      /* The other general registers: a code pointer only a register holds (a callee-saved one across a blocking
         call) is called when the thread resumes. */
      const unsigned long long gprs[] = {t->regs.rax, t->regs.rbx, t->regs.rcx, t->regs.rdx, t->regs.rsi, t->regs.rdi,
                                         t->regs.r8,  t->regs.r9,  t->regs.r10, t->regs.r11, t->regs.r12, t->regs.r13,
                                         t->regs.r14, t->regs.r15};
      fputs(",\"gprs\":[", stdout);
      for (unsigned k = 0; k < sizeof gprs / sizeof gprs[0]; k++) printf("%s\"0x%llx\"", k ? "," : "", gprs[k]);
      putchar(']');
      if (t->stack) {
        fputs(",\"stack\":\"", stdout);
        put_base64(t->stack, t->stack_len);
        putchar('"');
      }
      putchar('}');
    }
  }
  printf("],\"frozenUs\":%ld}\n", frozen_us);
  return 0;
}
