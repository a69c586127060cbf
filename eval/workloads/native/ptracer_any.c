/* ptracer_any: runs a command after declaring, with prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY), that any
 * process of the same user may trace it, so the evaluation's analysis and oracle (siblings, not ancestors
 * of the workload) can read and trace it where Yama's ptrace_scope is 1. Without Yama the call fails
 * harmlessly. The exception survives execve (Yama keys it on the task).
 * Usage: ptracer_any COMMAND [ARGS...] */
#include <stdio.h>
#include <sys/prctl.h>
#include <unistd.h>

#ifndef PR_SET_PTRACER
#define PR_SET_PTRACER 0x59616d61
#endif
#ifndef PR_SET_PTRACER_ANY
#define PR_SET_PTRACER_ANY ((unsigned long)-1)
#endif

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s COMMAND [ARGS...]\n", argv[0]);
    return 2;
  }
  prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
  execvp(argv[1], argv + 1);
  perror("ptracer_any: execvp");
  return 127;
}
