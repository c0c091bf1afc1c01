/* arena.h — bump allocation for things that live and die together.
 *
 * Three lifetimes use arenas: a parse (tokens, AST), a program (symbols, IR)
 * and a run (planned buffers are plain malloc blocks owned by exec/train).
 * Freeing an arena frees everything allocated from it; nothing is freed one
 * object at a time. All heap allocation in vg goes through xmalloc/xcalloc/
 * xrealloc, which abort with file:line on exhaustion (an internal fault, not
 * a user error). */
#ifndef VG_ARENA_H
#define VG_ARENA_H

#include <stddef.h>
#include <stdio.h>

typedef struct ArenaChunk ArenaChunk;
typedef struct Arena {
    ArenaChunk *head;
    size_t used;  /* bytes handed out, for limits and tests */
} Arena;

void *xmalloc_at(size_t n, const char *file, int line);
void *xcalloc_at(size_t count, size_t size, const char *file, int line);
void *xrealloc_at(void *p, size_t n, const char *file, int line);
#define xmalloc(n) xmalloc_at((n), __FILE__, __LINE__)
#define xcalloc(c, s) xcalloc_at((c), (s), __FILE__, __LINE__)
#define xrealloc(p, n) xrealloc_at((p), (n), __FILE__, __LINE__)
char *xstrdup(const char *s);
/* Text printed into memory (open_memstream), for the printers that write
 * to a FILE: mem_text_open aborts, as xmalloc does, when it cannot open
 * one; mem_text_close closes it and returns the text (len bytes), malloc'd. */
typedef struct MemText {
    FILE *f;
    char *buf;
    size_t len;
} MemText;
FILE *mem_text_open(MemText *t);
char *mem_text_close(MemText *t);

void arena_init(Arena *a);
/* Zeroed memory, aligned for any type; owned by the arena. */
void *arena_alloc(Arena *a, size_t n);
char *arena_strdup(Arena *a, const char *s);
char *arena_strndup(Arena *a, const char *s, size_t n);
/* printf into the arena. */
char *arena_printf(Arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The strings up to a NULL, concatenated into the arena. For names built
 * per node or layer: glibc's printf takes its slow path (about 3,000
 * instructions for "%s.%s") in any process that loads libquadmath, which
 * OpenBLAS pulls in through libgfortran and which registers printf
 * handlers. */
char *arena_concat(Arena *a, const char *s, ...);
void arena_free(Arena *a);

/* Zeroed, 64-byte-aligned memory for the big tables of a run (planned
 * buffers, parameters), given back with block_free(p, bytes). From 2 MiB
 * up it is a mapping of its own, 2 MiB-aligned and advised for
 * transparent huge pages: its pages take memory only once touched, so
 * the plans of a family's runs cost nothing until each run's turn, and
 * block_clear returns them to the system. block_clear zeroes p either
 * way. Aborts as xmalloc does when memory runs out. */
void *block_alloc_at(size_t bytes, const char *file, int line);
#define block_alloc(n) block_alloc_at((n), __FILE__, __LINE__)
void block_clear(void *p, size_t bytes);
void block_free(void *p, size_t bytes);

/* Grows a malloc'd block that holds `used` bytes to n bytes, like xrealloc;
 * blocks of 2 MiB or more are huge-page-advised as arena chunks are. The
 * result may always be passed to free and xrealloc. */
void *vec_grow_at(void *p, size_t used, size_t n, const char *file, int line);

/* A growable array of pointers or PODs, stored in malloc memory: for tables
 * that are built incrementally (IR nodes, diagnostics). */
#define VEC_PUSH(arr, n, cap, val)                                          \
    do {                                                                    \
        if ((n) == (cap)) {                                                 \
            size_t used_ = (size_t)(cap) * sizeof *(arr);                   \
            (cap) = (cap) ? 2 * (cap) : 16;                                 \
            (arr) = vec_grow_at((arr), used_, (size_t)(cap) * sizeof *(arr), \
                                __FILE__, __LINE__);                        \
        }                                                                   \
        (arr)[(n)++] = (val);                                               \
    } while (0)

#endif
