/* arch/context.h — saved execution contexts and the switch between them.
 *
 * On x86-64 and aarch64 a context is just a saved stack pointer: the
 * hand-written switch (switch_<cpu>.S) pushes every callee-saved register on
 * the old stack (x86-64: rbx, rbp, r12-r15, MXCSR and the x87 control word;
 * aarch64: x19-x30, d8-d15 and FPCR), stores the stack pointer, loads the new
 * one and pops the same set.  Other CPUs (or CORIO_FORCE_UCONTEXT) use
 * swapcontext, which is slower (it saves the signal mask with a syscall).
 *
 * corio__ctx_switch also tells AddressSanitizer and ThreadSanitizer about the
 * switch, so both follow tasks across stacks. */
#ifndef CORIO_ARCH_CONTEXT_H
#define CORIO_ARCH_CONTEXT_H

#include <stddef.h>

#if defined(__SANITIZE_ADDRESS__)
#define CORIO__ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CORIO__ASAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define CORIO__TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CORIO__TSAN 1
#endif
#endif

#if defined(CORIO_FORCE_UCONTEXT) ||                                           \
    !(defined(__x86_64__) || defined(__aarch64__))
#define CORIO__UCONTEXT 1
#include <ucontext.h>
#endif

typedef struct corio__ctx {
    void *sp;
#ifdef CORIO__UCONTEXT
    ucontext_t *uc; /* lives just below the task record */
#endif
#ifdef CORIO__ASAN
    const void *stack_lo;
    size_t stack_size;
    void *fake_stack;
#endif
#ifdef CORIO__TSAN
    void *fiber;
#endif
} corio__ctx;

/* What a fresh context runs first: three pointer arguments, no return. */
typedef void (*corio__entry_fn)(void *a0, void *a1, void *a2);

#ifndef CORIO__UCONTEXT
#include <stdint.h>
extern __thread __attribute__((tls_model("initial-exec")))
uint64_t corio__fp_control;
void corio__trampoline(void);

/* The frame corio__switch pops, at the top of [lo, lo + size): see
 * context.c for the picture.  Only what the trampoline reads and the frame
 * pointer (0: the end of the frame chain) are written; the other
 * callee-saved registers start with whatever the slot held, which nothing
 * reads.  The entry's three arguments travel in the frame, which the first
 * switch reads anyway, so that the entry need not fetch them from memory
 * that may have left the cache meanwhile. */
static inline void corio__ctx_frame(corio__ctx *c, void *lo, size_t size,
                                    corio__entry_fn entry, void *a0, void *a1,
                                    void *a2)
{
    uintptr_t top = ((uintptr_t)lo + size) & ~(uintptr_t)15;
#if defined(__x86_64__)
    uint64_t *f = (uint64_t *)(top - 8 * 8); /* one cache line */
    f[0] = corio__fp_control;                /* MXCSR | x87 control word */
    f[2] = (uint64_t)(uintptr_t)a2;          /* r14 (f[1]: r15) */
    f[3] = (uint64_t)(uintptr_t)a1;          /* r13 */
    f[4] = (uint64_t)(uintptr_t)a0;          /* r12 */
    f[5] = (uint64_t)(uintptr_t)entry;       /* rbx */
    f[6] = 0;                                /* rbp */
    f[7] = (uint64_t)(uintptr_t)corio__trampoline;
#elif defined(__aarch64__)
    uint64_t *f = (uint64_t *)(top - 16 - 176);
    f[20] = corio__fp_control;                      /* FPCR */
    f[0] = (uint64_t)(uintptr_t)a0;                 /* x19 */
    f[1] = (uint64_t)(uintptr_t)entry;              /* x20 */
    f[2] = (uint64_t)(uintptr_t)a1;                 /* x21 */
    f[3] = (uint64_t)(uintptr_t)a2;                 /* x22 */
    f[10] = 0;                                      /* x29 */
    f[11] = (uint64_t)(uintptr_t)corio__trampoline; /* x30 */
#endif
    c->sp = f;
}
#endif

#if !defined(CORIO__UCONTEXT) && !defined(CORIO__ASAN) && !defined(CORIO__TSAN)
/* Make c start entry(a0, a1, a2) on the stack [lo, lo + size) at the next
 * switch to it.  entry must never return. */
static inline void corio__ctx_make(corio__ctx *c, void *lo, size_t size,
                                   corio__entry_fn entry, void *a0, void *a1,
                                   void *a2)
{
    corio__ctx_frame(c, lo, size, entry, a0, a1, a2);
}
#else
void corio__ctx_make(corio__ctx *c, void *lo, size_t size,
                     corio__entry_fn entry, void *a0, void *a1, void *a2);
#endif
/* Describe the calling thread's own stack as a context to switch back to. */
void corio__ctx_root(corio__ctx *c);
#if !defined(CORIO__UCONTEXT) && !defined(CORIO__ASAN) && !defined(CORIO__TSAN)
/* The plain build: the switch is the assembly routine itself, inlined at
 * its callers (no wrapper call on the hot path). */
void corio__switch(void **from_sp, void *to_sp);
void corio__jump(void *to_sp) __attribute__((noreturn));
static inline void corio__ctx_switch(corio__ctx *from, corio__ctx *to)
{
    corio__switch(&from->sp, to->sp);
}
/* Nothing returns to a finished context, so only the second half of the
 * switch runs: no registers saved. */
static inline __attribute__((noreturn)) void corio__ctx_exit(corio__ctx *from,
                                                             corio__ctx *to)
{
    (void)from;
    corio__jump(to->sp);
}
static inline void corio__ctx_started(void)
{
}
static inline void corio__ctx_free(corio__ctx *c)
{
    (void)c;
}
#else
/* Save the current context in from and resume to.  Returns when something
 * switches back to from. */
void corio__ctx_switch(corio__ctx *from, corio__ctx *to);
/* Leave from for good (its stack is about to be reused). */
void corio__ctx_exit(corio__ctx *from, corio__ctx *to)
    __attribute__((noreturn));
/* First call in a new context (sanitizer bookkeeping). */
void corio__ctx_started(void);
/* Release what corio__ctx_make acquired (a TSan fiber). */
void corio__ctx_free(corio__ctx *c);
#endif

#endif
