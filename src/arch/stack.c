/* arch/stack.c — the stack pool, guard probing and the overflow handler.
 * The layout and the three guard kinds are drawn in stack.h. */
#include "arch/stack.h"
#include "os/sys.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif

#define PAGE 4096u
#define MIN_SLOTS 16u
#define MAX_SLOTS 1024u
#define CANARY 0xc0d1c0d1c0d1c0d1ull
#define CANARY_WORDS 4
#define CANARY_MARGIN                                                          \
    1024 /* bytes above lo the stack pointer must keep at a suspension */

static pthread_once_t probe_once = PTHREAD_ONCE_INIT;
static int guard_mode;
static atomic_long mprotect_budget;

/* Install a guard on a scratch page and touch it from the kernel: a write(2)
 * from a guarded page fails with EFAULT.  Under emulators (qemu-user) the
 * advice may be accepted yet ignored, which this catches too. */
static int probe_madvise(void)
{
    int ok = 0, fds[2];
    char *p = corio__sys.mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return 0;
    if (corio__sys.madvise(p, PAGE, MADV_GUARD_INSTALL) == 0 &&
        pipe(fds) == 0) {
        ok = write(fds[1], p, 1) < 0 && errno == EFAULT;
        corio__sys.close(fds[0]);
        corio__sys.close(fds[1]);
    }
    corio__sys.munmap(p, 2 * PAGE);
    return ok;
}

static long read_max_map_count(void)
{
    long v = 65530;
    FILE *f = fopen("/proc/sys/vm/max_map_count", "re");
    if (f) {
        if (fscanf(f, "%ld", &v) != 1)
            v = 65530;
        fclose(f);
    }
    return v;
}

static void probe(void)
{
    const char *force = getenv("CORIO_STACK_GUARD");
    const char *budget = getenv("CORIO_STACK_GUARDS");
    long max = read_max_map_count();
    /* Each PROT_NONE guard splits a mapping in three: two more entries.
     * Leave room for everything else the process maps. */
    long b = (max - 8192) / 2;
    if (budget)
        b = atol(budget);
    atomic_store(&mprotect_budget, b > 0 ? b : 0);
    if (force && !strcmp(force, "canary"))
        guard_mode = CORIO__GUARD_CANARY;
    else if (force && !strcmp(force, "mprotect"))
        guard_mode = CORIO__GUARD_MPROTECT;
    else
        guard_mode =
            probe_madvise() ? CORIO__GUARD_MADVISE : CORIO__GUARD_MPROTECT;
}

int corio__stack_guard_mode(void)
{
    pthread_once(&probe_once, probe);
    return guard_mode;
}

size_t corio__stack_round(size_t size)
{
    if (size < 16384)
        size = 16384;
    if (size > ((size_t)1 << 40))
        return 0; /* absurd (and the region arithmetic would wrap) */
    return (size + PAGE - 1) & ~(size_t)(PAGE - 1);
}

static corio__stack_class *class_for(corio__stack_pool *p, size_t size)
{
    corio__stack_class *c = p->last;
    if (c && c->size == size)
        return c;
    for (c = p->classes; c; c = c->next)
        if (c->size == size)
            return p->last = c;
    c = corio__sys.calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->size = size;
    c->nslots = MIN_SLOTS;
    c->next = p->classes;
    p->classes = c;
    return p->last = c;
}

static int grow(corio__stack_class *c)
{
    size_t slot = c->size + PAGE;
    size_t len = c->nslots * slot;
    corio__region *r = corio__sys.malloc(sizeof *r);
    if (!r)
        return -ENOMEM;
    void *base =
        corio__sys.mmap(NULL, len, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED) {
        free(r);
        return -ENOMEM;
    }
    /* A huge page would commit 2 MiB for a stack that touches 4 KiB. */
    corio__sys.madvise(base, len, MADV_NOHUGEPAGE);
    r->base = base;
    r->len = len;
    r->mprotected = 0;
    r->next = c->regions;
    c->regions = r;
    c->carve = base;
    c->carve_end = (char *)base + len;
    if (c->nslots < MAX_SLOTS)
        c->nslots *= 2;
    return 0;
}

static void write_canary(char *lo)
{
    uint64_t *w = (uint64_t *)lo;
    for (int i = 0; i < CANARY_WORDS; i++)
        w[i] = CANARY;
}

static int install_guard(corio__stack_class *c, char *slot)
{
    int mode = corio__stack_guard_mode();
    if (mode == CORIO__GUARD_MADVISE) {
        if (corio__sys.madvise(slot, PAGE, MADV_GUARD_INSTALL) == 0)
            return CORIO__GUARD_MADVISE;
    } else if (mode == CORIO__GUARD_MPROTECT) {
        if (atomic_fetch_sub(&mprotect_budget, 1) > 0) {
            if (corio__sys.mprotect(slot, PAGE, PROT_NONE) == 0) {
                c->regions->mprotected++;
                return CORIO__GUARD_MPROTECT;
            }
        }
        atomic_fetch_add(&mprotect_budget, 1);
    }
    write_canary(slot + PAGE);
    return CORIO__GUARD_CANARY;
}

int corio__stack_alloc(corio__stack_pool *p, size_t size, corio__stack *out)
{
    corio__stack_class *c = class_for(p, size);
    if (!c)
        return -ENOMEM;
    if (c->free) {
        struct corio__free_slot *f = c->free;
        c->free = f->next;
        c->nfree--;
        out->lo = f->lo;
        out->size = size;
        out->cls = c;
        out->guard = f->guard;
        return 0;
    }
    if (c->ntrimmed) {
        struct corio__trimmed_slot *t = &c->trimmed[--c->ntrimmed];
        out->lo = t->lo;
        out->size = size;
        out->cls = c;
        out->guard = t->guard;
        if (t->guard == CORIO__GUARD_CANARY)
            write_canary(t->lo); /* trimming zeroed it */
        return 0;
    }
    if (c->carve == c->carve_end) {
        int rc = grow(c);
        if (rc < 0)
            return rc;
    }
    char *slot = c->carve;
    c->carve += size + PAGE;
    p->nslots++;
    out->lo = slot + PAGE;
    out->size = size;
    out->cls = c;
    out->guard = (uint8_t)install_guard(c, slot);
    if (out->guard == CORIO__GUARD_CANARY)
        p->canaries = 1;
    return 0;
}

void corio__stack_each(corio__stack_pool *p,
                       void (*fn)(char *lo, size_t size, void *ctx), void *ctx)
{
    for (corio__stack_class *c = p->classes; c; c = c->next)
        for (corio__region *r = c->regions; r; r = r->next) {
            char *end = r == c->regions ? c->carve : (char *)r->base + r->len;
            for (char *s = r->base; s < end; s += c->size + PAGE)
                fn(s + PAGE, c->size, ctx);
        }
}

static int keep_trimmed(corio__stack_class *c, char *lo, uint8_t guard)
{
    if (c->ntrimmed == c->trimmed_cap) {
        size_t cap = c->trimmed_cap ? 2 * c->trimmed_cap : 64;
        void *v = corio__sys.realloc(c->trimmed, cap * sizeof *c->trimmed);
        if (!v)
            return -ENOMEM;
        c->trimmed = v;
        c->trimmed_cap = cap;
    }
    c->trimmed[c->ntrimmed++] = (struct corio__trimmed_slot){lo, guard};
    return 0;
}

static size_t trim_class(corio__stack_class *c, size_t keep)
{
    struct corio__free_slot **link = &c->free;
    size_t n = 0;
    for (size_t i = 0; *link && i < keep; i++)
        link = &(*link)->next;
    while (*link) {
        struct corio__free_slot *f = *link;
        char *lo = f->lo;
        uint8_t guard = f->guard;
        if (keep_trimmed(c, lo, guard) < 0)
            break;
        *link = f->next; /* f's page goes next: unlink it first */
        c->nfree--;
        corio__sys.madvise(lo, c->size, MADV_DONTNEED);
        n++;
    }
    return n;
}

size_t corio__stack_trim(corio__stack_pool *p, size_t keep)
{
    size_t n = 0;
    for (corio__stack_class *c = p->classes; c; c = c->next)
        n += trim_class(c, keep);
    return n;
}

size_t corio__stack_untrimmed(const corio__stack_pool *p)
{
    size_t most = 0;
    for (const corio__stack_class *c = p->classes; c; c = c->next)
        if (c->nfree > most)
            most = c->nfree;
    return most;
}

void corio__stack_pool_destroy(corio__stack_pool *p)
{
    corio__stack_class *c, *cn;
    corio__region *r, *rn;
    for (c = p->classes; c; c = cn) {
        cn = c->next;
        for (r = c->regions; r; r = rn) {
            rn = r->next;
            corio__sys.munmap(r->base, r->len);
            atomic_fetch_add(&mprotect_budget, (long)r->mprotected);
            free(r);
        }
        free(c->trimmed);
        free(c);
    }
    p->classes = NULL;
    p->last = NULL;
    p->canaries = 0;
}

int corio__stack_in_guard(const corio__stack *s, const void *addr)
{
    const char *a = addr;
    return s->guard != CORIO__GUARD_CANARY && a >= s->lo - PAGE && a < s->lo;
}

static void put(const char *s)
{
    if (write(2, s, strlen(s)) < 0)
        return; /* nothing better to do on the way out */
}

/* Written with write(2) and no stdio: the stack it runs on is exhausted,
 * or it runs in a signal handler. */
void corio__stack_report(const char *name, size_t size)
{
    char num[24], *p = num + sizeof num;
    *--p = 0;
    do
        *--p = (char)('0' + size % 10);
    while ((size /= 10) && p > num);
    put("corio: stack overflow in task '");
    put(name);
    put("' (stack size ");
    put(p);
    put(" bytes)\n");
}

void corio__stack_check(const corio__stack *s, const void *sp, const char *name)
{
    const uint64_t *w = (const uint64_t *)s->lo;
    int broken = (const char *)sp < s->lo + CANARY_MARGIN;
    for (int i = 0; i < CANARY_WORDS; i++)
        broken |= w[i] != CANARY;
    if (broken) {
        corio__stack_report(name, s->size);
        abort();
    }
}

size_t corio__stack_used(const corio__stack *s)
{
    size_t pages = s->size / PAGE;
    unsigned char *vec = corio__sys.malloc(pages);
    size_t used = 0;
    if (!vec)
        return 0;
    if (mincore(s->lo, s->size, vec) == 0) {
        for (size_t i = 0; i < pages; i++)
            if (vec[i] & 1) {
                used = s->size - i * PAGE;
                break;
            }
    }
    free(vec);
    return used;
}

/* The overflow handler runs on an alternate stack, since the faulting one
 * is exhausted.  It reports a fault on the running task's guard, then puts
 * the default disposition back and returns: the faulting instruction runs
 * again and the process dies of SIGSEGV as it would have without corio. */
/* Atomic: every loop thread stores it (the same function) at its start. */
static _Atomic(corio__fault_fn) fault_who;
static atomic_int handler_installed;
static __thread __attribute__((tls_model("initial-exec"))) void *altstack;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    corio__fault_fn who = atomic_load(&fault_who);
    if (who)
        who(si->si_addr);
    signal(sig, SIG_DFL);
}

void corio__stack_thread_begin(corio__fault_fn who)
{
    stack_t cur, ss;
    struct sigaction old, sa;
    atomic_store(&fault_who, who);
    if (sigaltstack(NULL, &cur) == 0 && (cur.ss_flags & SS_DISABLE)) {
        size_t len = 64 * 1024;
        altstack = corio__sys.malloc(len);
        if (altstack) {
            ss.ss_sp = altstack;
            ss.ss_size = len;
            ss.ss_flags = 0;
            if (sigaltstack(&ss, NULL) != 0) {
                free(altstack);
                altstack = NULL;
            }
        }
    }
    if (atomic_load(&handler_installed))
        return;
    if (sigaction(SIGSEGV, NULL, &old) == 0 && old.sa_handler == SIG_DFL &&
        !(old.sa_flags & SA_SIGINFO)) {
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_segv;
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
        sigemptyset(&sa.sa_mask);
        if (!atomic_exchange(&handler_installed, 1))
            sigaction(SIGSEGV, &sa, NULL);
    }
}

void corio__stack_thread_end(void)
{
    if (altstack) {
        stack_t ss = {.ss_flags = SS_DISABLE};
        sigaltstack(&ss, NULL);
        free(altstack);
        altstack = NULL;
    }
}
