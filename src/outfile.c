/* outfile.c — files written all or nothing (outfile.h).
 *
 * The temporary file sits in the target's folder, because rename(2) is
 * atomic only within one file system: a reader of the target sees the old
 * file or the complete new one, never a prefix. */
#include "vg/outfile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "vg/arena.h"

static bool fail(OutFile *of, DiagSink *diag, int err)
{
    diag_error(diag, SPAN_NONE, "cannot write '%s': %s", of->path, strerror(err));
    outfile_discard(of);
    return false;
}

bool outfile_open(OutFile *of, const char *path, DiagSink *diag)
{
    *of = (OutFile){.path = path};
    size_t n = strlen(path);
    of->tmp = xmalloc(n + 8);
    memcpy(of->tmp, path, n);
    memcpy(of->tmp + n, ".XXXXXX", 8);
    int fd = mkstemp(of->tmp);
    if (fd < 0)
        return fail(of, diag, errno);
    /* mkstemp makes the file private (0600); the report gets the usual
     * permissions, 0666 less the umask, like any file vg's user creates */
    mode_t mask = umask(0);
    umask(mask);
    if (fchmod(fd, 0666 & ~mask) != 0 || !(of->f = fdopen(fd, "w"))) {
        int err = errno;
        close(fd);
        return fail(of, diag, err);
    }
    return true;
}

bool outfile_commit(OutFile *of, DiagSink *diag)
{
    bool bad = ferror(of->f) != 0;
    int err = bad ? EIO : 0;
    if (fflush(of->f) != 0 || (!of->transient && fsync(fileno(of->f)) != 0))
        bad = true, err = errno;
    if (fclose(of->f) != 0 && !bad)
        bad = true, err = errno;
    of->f = NULL;
    if (!bad && rename(of->tmp, of->path) != 0)
        bad = true, err = errno;
    if (bad)
        return fail(of, diag, err);
    free(of->tmp);
    of->tmp = NULL;
    return true;
}

bool outfile_check(const char *path, DiagSink *diag)
{
    OutFile of;
    if (!outfile_open(&of, path, diag))
        return false;
    outfile_discard(&of);
    return true;
}

void outfile_discard(OutFile *of)
{
    if (of->f)
        fclose(of->f);
    if (of->tmp) {
        remove(of->tmp);
        free(of->tmp);
    }
    of->f = NULL;
    of->tmp = NULL;
}
