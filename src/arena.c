/* arena.c — bump allocation in chunks, and the one funnel for malloc.
 *
 * Chunks grow geometrically so a parse of a large file makes few calls to
 * malloc; a request larger than the next chunk gets a chunk of its own. */
#define _DEFAULT_SOURCE  /* madvise, MADV_HUGEPAGE (Linux) */
#include "vg/arena.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

struct ArenaChunk {
    ArenaChunk *next;
    size_t size, used;
    max_align_t data[];
};

/* Blocks from HUGE_MIN up are made of huge pages (huge_alloc): past that
 * size, a block that stays mostly empty costs less than its page faults. */
enum { CHUNK_MIN = 16 * 1024, HUGE_PAGE = 2 << 20, HUGE_MIN = 512 * 1024 };

static void out_of_memory(size_t n, const char *file, int line)
{
    fprintf(stderr, "vg: out of memory allocating %zu bytes (%s:%d)\n", n, file, line);
    abort();
}

void *xmalloc_at(size_t n, const char *file, int line)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        out_of_memory(n, file, line);
    return p;
}

void *xcalloc_at(size_t count, size_t size, const char *file, int line)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p)
        out_of_memory(count * size, file, line);
    return p;
}

void *xrealloc_at(void *p, size_t n, const char *file, int line)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        out_of_memory(n, file, line);
    return q;
}

char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(xmalloc(n), s, n);
}

FILE *mem_text_open(MemText *t)
{
    t->buf = NULL;
    t->len = 0;
    t->f = open_memstream(&t->buf, &t->len);
    if (!t->f) {
        fprintf(stderr, "vg: internal error: open_memstream: %s\n", strerror(errno));
        abort();
    }
    return t->f;
}

char *mem_text_close(MemText *t)
{
    fclose(t->f);
    return t->buf;
}

/* *bytes, rounded up to whole 2 MiB pages, 2 MiB-aligned
 * and advised for transparent huge pages. The AST and IR of a 10,000-layer
 * model fill about 30 MB, and touching that 4 KiB at a time cost a page
 * fault each: about half of parsing and elaborating it under this project's
 * VM (docs/performance.md). Elsewhere the advice is a no-op. */
static void *huge_alloc(size_t *bytes, const char *file, int line)
{
    void *p = NULL;
    *bytes = (*bytes + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
    if (posix_memalign(&p, HUGE_PAGE, *bytes) != 0)
        out_of_memory(*bytes, file, line);
#ifdef MADV_HUGEPAGE
    madvise(p, *bytes, MADV_HUGEPAGE);
#endif
    return p;
}

/* Small blocks need the alignment (oneDNN's convolutions compute in plan
 * buffers, and the same alignment in every run gives the same results);
 * big ones are whole huge pages. */
enum { BLOCK_LINE = 64 };

void *block_alloc_at(size_t bytes, const char *file, int line)
{
    if (bytes < HUGE_PAGE) {
        void *p = NULL;
        if (posix_memalign(&p, BLOCK_LINE, bytes ? bytes : 1) != 0)
            out_of_memory(bytes, file, line);
        return memset(p, 0, bytes);
    }
    /* map a huge page more than needed, then unmap around the aligned part */
    size_t len = (bytes + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
    char *m = mmap(NULL, len + HUGE_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                   -1, 0);
    if (m == MAP_FAILED)
        out_of_memory(bytes, file, line);
    char *p = (char *)(((uintptr_t)m + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE);
    if (p > m)
        munmap(m, (size_t)(p - m));
    if (p + len < m + len + HUGE_PAGE)
        munmap(p + len, (size_t)(m + len + HUGE_PAGE - (p + len)));
#ifdef MADV_HUGEPAGE
    madvise(p, len, MADV_HUGEPAGE);
#endif
    return p;
}

void block_clear(void *p, size_t bytes)
{
    /* a private anonymous mapping reads as zeros after MADV_DONTNEED */
    if (bytes < HUGE_PAGE || madvise(p, bytes, MADV_DONTNEED) != 0)
        memset(p, 0, bytes);
}

void block_free(void *p, size_t bytes)
{
    if (!p)
        return;
    if (bytes < HUGE_PAGE)
        free(p);
    else
        munmap(p, (bytes + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE);
}

void *vec_grow_at(void *p, size_t used, size_t n, const char *file, int line)
{
    if (n < HUGE_MIN)
        return xrealloc_at(p, n, file, line);
    void *q = huge_alloc(&n, file, line);
    if (used)
        memcpy(q, p, used);
    free(p);
    return q;
}

/* A chunk of at least n bytes; from HUGE_MIN up, of huge pages. */
static ArenaChunk *new_chunk(size_t n)
{
    size_t bytes = sizeof(ArenaChunk) + n;
    void *p = bytes < HUGE_MIN ? xmalloc(bytes) : huge_alloc(&bytes, __FILE__, __LINE__);
    ArenaChunk *c = p;
    c->size = bytes - sizeof(ArenaChunk);
    c->used = 0;
    return c;
}

void arena_init(Arena *a)
{
    a->head = NULL;
    a->used = 0;
}

void *arena_alloc(Arena *a, size_t n)
{
    const size_t align = _Alignof(max_align_t);  /* 16 on x86-64; its sizeof is 32 */
    if (n > SIZE_MAX - align)
        out_of_memory(n, __FILE__, __LINE__);
    n = (n + align - 1) / align * align;
    ArenaChunk *c = a->head;
    if (!c || c->size - c->used < n) {
        size_t size = c ? 2 * c->size : CHUNK_MIN;
        if (size < n)
            size = n;
        c = new_chunk(size);
        c->next = a->head;
        a->head = c;
    }
    void *p = (char *)c->data + c->used;
    c->used += n;
    a->used += n;
    return memset(p, 0, n);
}

char *arena_strndup(Arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *arena_strdup(Arena *a, const char *s)
{
    return arena_strndup(a, s, strlen(s));
}

/* One pass through printf when the text fits the buffer (it nearly always
 * does), two otherwise. */
char *arena_printf(Arena *a, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    if ((size_t)n < sizeof buf)
        return arena_strndup(a, buf, (size_t)n);
    char *p = arena_alloc(a, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

char *arena_concat(Arena *a, const char *s, ...)
{
    va_list ap;
    size_t n = 0;
    va_start(ap, s);
    for (const char *t = s; t; t = va_arg(ap, const char *))
        n += strlen(t);
    va_end(ap);
    char *p = arena_alloc(a, n + 1), *end = p;
    va_start(ap, s);
    for (const char *t = s; t; t = va_arg(ap, const char *)) {
        size_t len = strlen(t);
        memcpy(end, t, len);
        end += len;
    }
    va_end(ap);
    *end = '\0';
    return p;
}

void arena_free(Arena *a)
{
    ArenaChunk *c = a->head;
    while (c) {
        ArenaChunk *next = c->next;
        free(c);
        c = next;
    }
    arena_init(a);
}
