/* arch/stack.h — task stacks: pooled slots carved from large, lazily
 * committed regions, each protected by a guard below it.
 *
 * One slot, highest address at the top:
 *
 *     +------------------------------+  slot end = lo + size
 *     | corio_task record (~400 B)   |  the task record lives in its stack
 *     +------------------------------+
 *     | first frames: entry, fn, ... |  the stack grows down from here
 *     |              |               |
 *     |              v               |  untouched pages cost no memory
 *     |                              |
 *     +------------------------------+  lo
 *     | guard page (4 KiB)           |  fault on touch: overflow reported
 *     +------------------------------+  slot start (the slot below ends here)
 *
 * Regions are mmap'ed with MAP_NORESERVE and MADV_NOHUGEPAGE and hold 16,
 * then 32, ... up to 1024 slots; a freed slot goes back on its size class's
 * free list (its pages stay committed, so reuse is cheap) and regions are
 * unmapped when the loop ends.  After a burst, corio__stack_trim gives the
 * pages of free slots beyond a number kept warm back to the kernel
 * (MADV_DONTNEED); such a trimmed slot waits on a separate list, outside
 * the slot, and is handed out once the free list is empty.
 *
 * Guards, chosen once per process (CORIO_STACK_GUARD=madvise|mprotect|canary
 * forces one, for tests):
 *   madvise   MADV_GUARD_INSTALL (Linux >= 6.13): guard markers live in the
 *             page tables and never split the mapping, so a million guarded
 *             stacks fit in the default vm.max_map_count.  Probed at start
 *             by installing a guard and touching it (from the kernel, via
 *             write(2), which must fail with EFAULT).
 *   mprotect  PROT_NONE pages: each splits a mapping, so at most a budget
 *             taken from vm.max_map_count is used per process
 *             (CORIO_STACK_GUARDS=n overrides it); slots beyond it get...
 *   canary    a pattern at the bottom of the stack, checked with the stack
 *             pointer at every switch away from the task.
 * A fault on a guard (or a broken canary) kills the process with a message
 * naming the task and its stack size. */
#ifndef CORIO_ARCH_STACK_H
#define CORIO_ARCH_STACK_H

#include <stddef.h>
#include <stdint.h>

enum corio__guard {
    CORIO__GUARD_MADVISE = 1,
    CORIO__GUARD_MPROTECT,
    CORIO__GUARD_CANARY
};

typedef struct corio__stack_class corio__stack_class;

typedef struct corio__stack {
    char *lo;    /* lowest usable byte, just above the guard */
    size_t size; /* usable bytes, including the task record */
    corio__stack_class *cls;
    uint8_t guard; /* enum corio__guard */
} corio__stack;

typedef struct corio__stack_pool {
    corio__stack_class *classes;
    corio__stack_class *last; /* the class used last: usually the default */
    uint8_t canaries; /* a slot guarded by a canary was handed out: callers
                         check canaries at suspensions only from then on */
    size_t nslots;    /* slots ever carved, in every class (a bound on the
                         slots in use at once) */
} corio__stack_pool;

typedef struct corio__region {
    struct corio__region *next;
    void *base;
    size_t len;
    size_t mprotected; /* guards taken from the mprotect budget */
} corio__region;

/* A freed slot's node, written inside the slot itself. */
struct corio__free_slot {
    struct corio__free_slot *next;
    char *lo;
    uint8_t guard;
};

/* A trimmed slot: its pages are gone, so its node lives outside it. */
struct corio__trimmed_slot {
    char *lo;
    uint8_t guard;
};

struct corio__stack_class {
    corio__stack_class *next;
    size_t size;                   /* usable bytes per slot */
    struct corio__free_slot *free; /* freed slots, pages still committed */
    size_t nfree;
    struct corio__trimmed_slot *trimmed; /* freed slots given back */
    size_t ntrimmed, trimmed_cap;
    char *carve, *carve_end;
    size_t nslots; /* slots in the next region */
    corio__region *regions;
};

/* Round a requested stack size to whole pages (at least 16 KiB). */
size_t corio__stack_round(size_t size);
/* Take a slot of `size` usable bytes (already rounded).  0 or -ENOMEM.
 * Free slots come first (the one freed last first), then trimmed ones,
 * then fresh ones. */
int corio__stack_alloc(corio__stack_pool *p, size_t size, corio__stack *out);
/* The fast path of a spawn, inline: take the slot of `size` bytes freed
 * last, if it is of the size class used last, and return the node its
 * corio__stack_free was given.  The slot is handed back as its user left
 * it (LIFO: the warmest pages), so the caller finds its own bytes around
 * the node, the slot's description among them, and needs no
 * corio__stack.  NULL if there is no such slot: call corio__stack_alloc. */
static inline void *corio__stack_pop(corio__stack_pool *p, size_t size)
{
    corio__stack_class *c = p->last;
    if (c && c->size == size && c->free) {
        struct corio__free_slot *f = c->free;
        c->free = f->next;
        c->nfree--;
        /* The next pop's slot: its node's line and the line below (the
         * caller's record and a fresh context's frame, in corio) are
         * written then.  A burst of spawns runs ahead of the cache. */
        uintptr_t n = (uintptr_t)f->next;
        __builtin_prefetch((void *)n, 1);
        __builtin_prefetch((void *)(n - 64), 1);
        return f;
    }
    return NULL;
}
/* Give a slot back to its class.  The free list's node is written at
 * `node` (inside the slot, 24 bytes, 8-aligned): the caller passes memory it
 * has touched recently, so freeing costs no extra cache miss. */
static inline void corio__stack_free(corio__stack *s, void *node)
{
    struct corio__free_slot *f = node;
    f->lo = s->lo;
    f->guard = s->guard;
    f->next = s->cls->free;
    s->cls->free = f;
    s->cls->nfree++;
}
/* Call fn(lo, size, ctx) for every slot ever handed out (freed ones too). */
void corio__stack_each(corio__stack_pool *p,
                       void (*fn)(char *lo, size_t size, void *ctx), void *ctx);
/* Give back the pages of every free slot beyond the first `keep` of each
 * size class (a canary is written again when the slot is reused).  Returns the
 * number of slots trimmed; a slot that cannot be recorded is left as it was. */
size_t corio__stack_trim(corio__stack_pool *p, size_t keep);
/* The most free slots (pages still committed) in one size class. */
size_t corio__stack_untrimmed(const corio__stack_pool *p);
/* Unmap every region of the pool. */
void corio__stack_pool_destroy(corio__stack_pool *p);
/* Canary guards: check the stack of the task being switched away from;
 * sp is an address in its current frame. */
void corio__stack_check(const corio__stack *s, const void *sp,
                        const char *name);
/* Print "corio: stack overflow in task 'name' (stack size N bytes)" on
 * stderr without stdio (safe on an exhausted stack or in a handler). */
void corio__stack_report(const char *name, size_t size);
/* Bytes of s that have ever been touched (resident pages, from the top). */
size_t corio__stack_used(const corio__stack *s);
/* Told by the SIGSEGV handler about a fault at addr: returns 1 after
 * printing the overflow message if addr is the running task's guard. */
typedef int (*corio__fault_fn)(const void *addr);
/* Per-thread: install the SIGSEGV alternate stack and (process-wide, only
 * over the default disposition) the overflow handler, which asks who.
 * Undone by corio__stack_thread_end. */
void corio__stack_thread_begin(corio__fault_fn who);
void corio__stack_thread_end(void);
/* True if addr lies in the guard of s. */
int corio__stack_in_guard(const corio__stack *s, const void *addr);
/* The guard kind new slots get in this process (probes once). */
int corio__stack_guard_mode(void);

#endif
