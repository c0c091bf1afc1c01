/* fmt.c — `vg fmt`: canonical layout with the source's comments.
 *
 * The parse comes first, so a file with a syntax error is never touched;
 * the comments come from a second pass of the lexer over the same text
 * (the parser never sees them). -w writes through a temporary file in the
 * target's folder and renames it over the file (outfile.h), so an
 * interrupted vg fmt leaves the old file or the new one, never a part, and
 * a file that is already formatted is not rewritten at all. */
#include "vg/fmt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "vg/ast.h"
#include "vg/exit.h"
#include "vg/outfile.h"
#include "vg/parse.h"

char *fmt_source(Arena *arena, DiagSink *diag, int file, size_t *len)
{
    AstNode *prog = parse_file(arena, diag, file);
    if (!prog)
        return NULL;
    int nc;
    AstComment *comments = lex_comments(arena, diag, file, &nc);
    char *buf = NULL;
    FILE *out = open_memstream(&buf, len);
    if (!out) {
        free(comments);
        diag_error(diag, SPAN_NONE, "out of memory");
        return NULL;
    }
    const Source *src = &diag->sources->files[file];
    ast_print_source(out, prog, src->text, src->len, comments, nc);
    fclose(out);
    free(comments);
    return buf;
}

/* Rewrites path with text, keeping the file's permission bits. */
static bool rewrite(const char *path, const char *text, size_t len, DiagSink *diag)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return diag_error(diag, SPAN_NONE, "cannot write '%s': %s", path, strerror(errno));
    OutFile of;
    if (!outfile_open(&of, path, diag))
        return false;
    if (fchmod(fileno(of.f), st.st_mode & 07777) != 0) {
        diag_error(diag, SPAN_NONE, "cannot write '%s': %s", path, strerror(errno));
        outfile_discard(&of);
        return false;
    }
    fwrite(text, 1, len, of.f);
    return outfile_commit(&of, diag);
}

/* One file; returns its exit status. */
static int fmt_one(const char *path, FmtMode mode, FILE *out, FILE *err, bool color)
{
    SourceSet ss = {0};
    DiagSink diag;
    Arena arena;
    diag_init(&diag, &ss);
    arena_init(&arena);
    int status = 0;
    int file = source_load(&ss, path);
    size_t len = 0;
    char *text = NULL;
    if (file < 0)
        diag_error(&diag, SPAN_NONE, "cannot open '%s': %s", path, strerror(errno));
    else
        text = fmt_source(&arena, &diag, file, &len);
    if (!text) {
        status = EXIT_USAGE;
    } else {
        const Source *src = &ss.files[file];
        bool same = src->len == len && memcmp(src->text, text, len) == 0;
        if (mode == FMT_PRINT)
            fwrite(text, 1, len, out);
        else if (mode == FMT_CHECK && !same)
            fprintf(out, "%s\n", path), status = EXIT_EXPECT;
        else if (mode == FMT_WRITE && !same && !rewrite(path, text, len, &diag))
            status = EXIT_USAGE;
    }
    diag_render_all(err, &diag, color);
    free(text);
    arena_free(&arena);
    diag_free(&diag);
    source_set_free(&ss);
    return status;
}

int fmt_files(char *const *files, int n, FmtMode mode, FILE *out, FILE *err, bool color)
{
    int status = 0, unformatted = 0;
    for (int i = 0; i < n; i++) {
        int s = fmt_one(files[i], mode, out, err, color);
        if (s == EXIT_USAGE)
            status = EXIT_USAGE;
        unformatted += s == EXIT_EXPECT;
    }
    if (unformatted)
        fprintf(err, "vg fmt: %d file%s not formatted (listed above); "
                     "`vg fmt -w FILE...` rewrites them\n",
                unformatted, unformatted == 1 ? " is" : "s are");
    return status ? status : unformatted ? 1 : 0;
}
