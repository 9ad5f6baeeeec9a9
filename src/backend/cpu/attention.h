// Attention on the CPU with the vector kernels (see ref::attention for the contract).
#pragma once

#include "backend/cpu/kernels.h"
#include "core/threadpool.h"
#include "ops/ops.h"

namespace ember::cpu {

// Work is split into tasks (token, KV head, key range): the query heads that share a KV head
// are processed together so each K/V row is read once per group, not once per head, and the
// keys are split into ranges (flash-decoding style partial softmax, merged afterwards) when
// there are fewer (token, KV head) pairs than threads — decode of a 1-KV-head model still uses
// every core.
void attention(ThreadPool& pool, const KernelTable& k, const ref::AttentionShape& sh, const float* q,
               const float* K, const float* V, const int32_t* q_pos, const int32_t* k_pos, float* out);

}  // namespace ember::cpu
