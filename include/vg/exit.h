/* exit.h — vg's exit statuses, the same for every command
 * (docs/reliability.md). Library code returns them; main.c exits. */
#ifndef VG_EXIT_H
#define VG_EXIT_H

enum {
    EXIT_EXPECT = 1,    /* a check failed: an expect, a gradient (vg gradcheck),
                           a file's format (vg fmt --check) */
    EXIT_USAGE = 2,     /* a usage, syntax or semantic error, or a limit */
    EXIT_RUNTIME = 3,   /* a non-finite value (on_nonfinite = fail), I/O */
    EXIT_SIGNAL = 128,  /* plus the signal's number: interrupted (130 by SIGINT,
                           143 by SIGTERM) */
};

#endif
