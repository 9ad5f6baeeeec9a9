// Tokenizer parity with HF `tokenizers` on the committed corpus (tools/gen_tokenizer_corpus.py),
// streaming detokenization, GGUF-style construction, and error reporting.
#include "text/tokenizer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/gzip.h"
#include "ember/error.hpp"
#include "text/detokenizer.h"
#include "text/utf8.h"

namespace ember {
namespace {

const std::string kAsset = EMBER_SOURCE_DIR "/../shared/assets/gemma3-tokenizer/tokenizer.json.gz";
const std::string kFixtures = EMBER_SOURCE_DIR "/tests/fixtures/tokenizer/";

std::string b64decode(const std::string& s) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : s) {
    int v = val(c);
    if (v < 0) continue;
    acc = (acc << 6) | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

std::vector<nlohmann::json> load_cases(const std::string& name) {
  std::string data = read_file_maybe_gzip(kFixtures + name);
  std::vector<nlohmann::json> out;
  std::istringstream in(data);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  }
  return out;
}

std::string case_input(const nlohmann::json& c) {
  return c.contains("raw_b64") ? b64decode(c["raw_b64"].get<std::string>()) : c["text"].get<std::string>();
}

const Tokenizer& gemma3() {
  static Tokenizer t = Tokenizer::from_file(kAsset);
  return t;
}

// Same text edit as make_gemma4_json in tools/gen_tokenizer_corpus.py.
std::string make_gemma4_json(std::string text, const nlohmann::json& renames) {
  auto replace_all = [](std::string& s, const std::string& from, const std::string& to) {
    for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
      s.replace(at, from.size(), to);
  };
  for (const auto& r : renames) {
    std::string old_q = nlohmann::json(r[0].get<std::string>()).dump();
    std::string new_q = nlohmann::json(r[1].get<std::string>()).dump();
    replace_all(text, old_q, new_q);
    if (r[2].get<bool>()) {
      size_t at = text.find("\"content\": " + new_q);
      size_t flag = text.find("\"special\": false", at);
      size_t stop = text.find('}', at);
      if (at != std::string::npos && flag < stop) text.replace(flag, 16, "\"special\": true");
    }
  }
  return text;
}

// Runs every case; returns the number of mismatches (details printed for the first few).
int check_cases(const Tokenizer& tok, const std::vector<nlohmann::json>& cases, int* checked = nullptr) {
  int bad = 0, n = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto& c = cases[i];
    if (!c.contains("ids")) continue;
    ++n;
    std::vector<int32_t> want = c["ids"].get<std::vector<int32_t>>();
    if (c["kind"] != "decode") {
      std::vector<int32_t> got =
          tok.encode(case_input(c), c["add_bos"].get<bool>(), c["parse_special"].get<bool>());
      if (got != want) {
        if (++bad <= 5)
          ADD_FAILURE() << "encode mismatch in case " << i << " (" << c["kind"] << "): " << c.dump();
        continue;
      }
    }
    std::string dec = tok.decode(want), dec_skip = tok.decode(want, true);
    if (dec != c["decoded"].get<std::string>() || dec_skip != c["decoded_skip"].get<std::string>()) {
      if (++bad <= 5)
        ADD_FAILURE() << "decode mismatch in case " << i << " (" << c["kind"] << "): got '" << dec << "'";
    }
  }
  if (checked) *checked = n;
  return bad;
}

// The real tokenizer takes seconds to load under ASan (Debug), so the tests that need it are few
// and each checks several things.
TEST(Tokenizer, Gemma3ParityWithHf) {
  const Tokenizer& t = gemma3();
  EXPECT_EQ(t.vocab_size(), 262145u);
  EXPECT_EQ(t.merge_count(), 514906u);
  EXPECT_EQ(t.bos_id(), 2);
  EXPECT_EQ(t.eos_id(), 1);
  EXPECT_EQ(t.pad_id(), 0);
  EXPECT_EQ(t.unk_id(), 3);
  EXPECT_EQ(t.piece_to_id("<start_of_turn>"), 105);
  EXPECT_EQ(t.token_to_piece(107), "\n");
  EXPECT_EQ(t.token_to_piece(262144), "<image_soft_token>");
  EXPECT_EQ(t.token_to_piece(999999), "");
  EXPECT_TRUE(t.is_special(106));
  EXPECT_FALSE(t.is_special(107));

  auto cases = load_cases("corpus.jsonl.gz");
  ASSERT_GT(cases.size(), 500u);
  int checked = 0;
  EXPECT_EQ(check_cases(gemma3(), cases, &checked), 0);
  EXPECT_EQ(checked, static_cast<int>(cases.size()));

  // encode is const and safe to call from several threads (shared word cache, try_lock).
  std::vector<std::thread> threads;
  std::atomic<int> thread_bad{0};
  for (int k = 0; k < 4; ++k) {
    threads.emplace_back([&] {
      for (const auto& c : cases) {
        if (c["kind"] == "decode") continue;
        if (t.encode(case_input(c), c["add_bos"].get<bool>(), c["parse_special"].get<bool>()) !=
            c["ids"].get<std::vector<int32_t>>()) {
          ++thread_bad;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(thread_bad.load(), 0);

  // Encode never fails on arbitrary bytes; invalid UTF-8 is repaired like Python's "replace".
  const Tokenizer& tok = t;
  uint32_t seed = 7;
  for (int i = 0; i < 300; ++i) {
    std::string s;
    int n = int(seed % 200);
    for (int k = 0; k < n; ++k) {
      seed = seed * 1664525u + 1013904223u;
      s.push_back(static_cast<char>(seed >> 24));
    }
    std::vector<int32_t> ids = tok.encode(s);
    std::string back = tok.decode(ids);
    EXPECT_TRUE(text::utf8_valid(back));
    std::string want = text::utf8_sanitize(s);  // Gemma round-trips repaired text, U+2581 -> ' '
    for (size_t at = want.find("\xE2\x96\x81"); at != std::string::npos; at = want.find("\xE2\x96\x81", at)) {
      want.replace(at, 3, " ");
    }
    EXPECT_EQ(back, want);
  }
}

TEST(Tokenizer, Gemma4SpecialTokensParity) {
  auto cases = load_cases("corpus_gemma4.jsonl.gz");
  ASSERT_TRUE(cases.at(0).contains("renames"));
  std::string json = make_gemma4_json(read_file_maybe_gzip(kAsset), cases[0]["renames"]);
  Tokenizer t = Tokenizer::from_json(json, "gemma4 variant");
  EXPECT_EQ(t.piece_to_id("<|turn>"), 105);
  EXPECT_EQ(t.piece_to_id("<turn|>"), 106);
  EXPECT_EQ(t.piece_to_id("<|\"|>"), 52);
  int checked = 0;
  EXPECT_EQ(check_cases(t, cases, &checked), 0);
  EXPECT_GT(checked, 100);
}

// A model directory: tokenizer.json(.gz) plus tokenizer_config.json(.gz) for bos/eos/add_bos.
TEST(Tokenizer, ModelDirUsesTokenizerConfig) {
  Tokenizer t = Tokenizer::from_file(EMBER_SOURCE_DIR "/../shared/assets/gemma3-tokenizer");
  EXPECT_EQ(t.bos_id(), 2);
  EXPECT_EQ(t.eos_id(), 106);  // Gemma 3 config: eos_token "<end_of_turn>"
  EXPECT_EQ(t.pad_id(), 0);
  EXPECT_TRUE(t.add_bos_default());
  EXPECT_EQ(t.encode("Hello world", true), (std::vector<int32_t>{2, 9259, 1902}));
}

// Small trained tokenizers covering pipeline features Gemma's file does not use.
TEST(Tokenizer, TinyVariantsParityWithHf) {
  auto variants = load_cases("tiny_variants.jsonl.gz");
  ASSERT_GE(variants.size(), 10u);
  for (const auto& v : variants) {
    SCOPED_TRACE(v["name"].get<std::string>());
    Tokenizer t = Tokenizer::from_json(v["tokenizer"].get<std::string>(), v["name"].get<std::string>());
    std::vector<nlohmann::json> cases = v["cases"].get<std::vector<nlohmann::json>>();
    int checked = 0;
    EXPECT_EQ(check_cases(t, cases, &checked), 0);
    EXPECT_EQ(checked, static_cast<int>(cases.size()));
    for (const auto& c : cases) {  // streaming equals the full decode here too
      std::vector<int32_t> ids = c["ids"].get<std::vector<int32_t>>();
      Detokenizer d(t);
      std::string all;
      for (int32_t id : ids) all += d.push(id);
      all += d.finish();
      EXPECT_EQ(all, c["decoded"].get<std::string>()) << c.dump();
    }
  }
}

// Streaming output equals the full decode and never splits a character.
TEST(Detokenizer, Gemma3StreamEqualsDecode) {
  auto cases = load_cases("corpus.jsonl.gz");
  const Tokenizer& tok = gemma3();
  int bad = 0;
  for (const auto& c : cases) {
    std::vector<int32_t> ids = c["ids"].get<std::vector<int32_t>>();
    for (bool skip : {false, true}) {
      Detokenizer d(tok, skip);
      std::string all;
      for (int32_t id : ids) {
        std::string chunk = d.push(id);
        if (!text::utf8_valid(chunk) && ++bad <= 5) ADD_FAILURE() << "chunk splits a character: " << c.dump();
        all += chunk;
      }
      all += d.finish();
      if (all != tok.decode(ids, skip) && ++bad <= 5) ADD_FAILURE() << "stream != decode for " << c.dump();
    }
  }
  EXPECT_EQ(bad, 0);

  Detokenizer d(tok);
  // "中" as three byte-fallback tokens, then a normal token: the run is released when it ends.
  int32_t e4 = tok.piece_to_id("<0xE4>"), b8 = tok.piece_to_id("<0xB8>"), ad = tok.piece_to_id("<0xAD>");
  EXPECT_EQ(d.push(e4), "");
  EXPECT_EQ(d.push(b8), "");
  EXPECT_EQ(d.push(ad), "");
  EXPECT_EQ(d.push(tok.piece_to_id("▁hello")), "中 hello");
  EXPECT_EQ(d.push(tok.piece_to_id("\n")), "\n");
  EXPECT_EQ(d.push(e4), "");
  EXPECT_EQ(d.finish(), "\xEF\xBF\xBD");  // an unfinished run decodes to U+FFFD per byte, as HF
  d.reset();
  EXPECT_EQ(d.push(tok.piece_to_id("▁")), " ");  // no stripping at stream start for Gemma
}

TEST(Tokenizer, FromVocabMatchesJson) {
  const Tokenizer& ref = gemma3();
  VocabData v = ref.to_vocab_data();
  EXPECT_EQ(v.tokens.size(), 262145u);
  EXPECT_EQ(v.token_types[2], VocabData::kControl);
  EXPECT_EQ(v.token_types[238], VocabData::kByte);
  Tokenizer t = Tokenizer::from_vocab(v);
  EXPECT_EQ(t.bos_id(), 2);
  auto cases = load_cases("corpus.jsonl.gz");
  int bad = 0;
  for (size_t i = 0; i < cases.size(); i += 2) {  // half the corpus keeps this under ~20 s in ASan
    const auto& c = cases[i];
    if (c["kind"] == "decode") continue;
    std::string in = case_input(c);
    bool bos = c["add_bos"].get<bool>(), special = c["parse_special"].get<bool>();
    if (t.encode(in, bos, special) != ref.encode(in, bos, special) && ++bad <= 5) ADD_FAILURE() << c.dump();
  }
  EXPECT_EQ(bad, 0);
  VocabData spm = v;
  spm.merges.clear();
  try {
    Tokenizer::from_vocab(spm);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnsupported);
  }
}

TEST(Tokenizer, FromVocabSmall) {
  VocabData v;
  v.tokens = {"<pad>",
              "<eos>",
              "<bos>",
              "<unk>",
              "a",
              "b",
              "ab",
              "\xE2\x96\x81",
              "\xE2\x96\x81"
              "ab"};
  v.token_types = {3, 3, 3, 2, 1, 1, 1, 1, 1};
  v.merges = {"a b", "\xE2\x96\x81 ab"};
  v.bos_id = 2;
  v.eos_id = 1;
  Tokenizer t = Tokenizer::from_vocab(v);
  EXPECT_EQ(t.encode("ab ab"), (std::vector<int32_t>{6, 8}));
  EXPECT_EQ(t.encode("<bos>ab zz", true), (std::vector<int32_t>{2, 2, 6, 7, 3}));  // "zz": one fused unknown
  EXPECT_EQ(t.decode(std::vector<int32_t>{2, 6, 8}, true), "ab ab");
  auto expect_code = [](VocabData bad, ErrorCode code) {
    try {
      Tokenizer::from_vocab(bad);
      ADD_FAILURE() << "expected an error";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), code) << e.what();
    }
  };
  VocabData bad = v;
  bad.merges = {"a q"};
  expect_code(bad, ErrorCode::kInvalidCheckpoint);
  bad = v;
  bad.model = "bert";  // "llama" (SentencePiece) is supported since the GGUF work
  expect_code(bad, ErrorCode::kUnsupported);
  bad = v;
  bad.bos_id = 99;
  expect_code(bad, ErrorCode::kInvalidCheckpoint);
  bad = v;
  bad.token_types.pop_back();
  expect_code(bad, ErrorCode::kInvalidCheckpoint);
}

// ---------------------------------------------------------------------------- small files

std::string tiny_json(const std::string& model_extra, const std::string& top_extra = "") {
  return R"({"version": "1.0", "added_tokens": [
      {"id": 0, "content": "<bos>", "special": true, "lstrip": false, "rstrip": false, "normalized": false, "single_word": false},
      {"id": 7, "content": "<x>", "special": false, "lstrip": true, "rstrip": true, "normalized": false, "single_word": false}],
    "normalizer": {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"},
    "pre_tokenizer": null,
    "decoder": {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
               {"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},)" +
         top_extra + R"(
    "model": {"type": "BPE", "unk_token": "<unk>", "fuse_unk": true, "byte_fallback": false, )" +
         model_extra +
         R"( "vocab": {"<bos>": 0, "<unk>": 1, "a": 2, "b": 3, "ab": 4, "\u2581": 5, "\u2581ab": 6, "<x>": 7},
      "merges": [["a", "b"], "\u2581 ab"]}})";
}

TEST(Tokenizer, TinyTokenizerFeatures) {
  Tokenizer t = Tokenizer::from_json(tiny_json(""), "tiny.json");
  EXPECT_EQ(t.encode("ab ab"), (std::vector<int32_t>{4, 6}));
  EXPECT_EQ(t.encode("zzab"), (std::vector<int32_t>{1, 4}));            // fused unknowns
  EXPECT_EQ(t.encode("ab  <x>  ab"), (std::vector<int32_t>{4, 7, 4}));  // lstrip/rstrip eat spaces
  EXPECT_EQ(t.encode("<bos>ab", false, false),
            (std::vector<int32_t>{1, 3, 1, 4}));             // "<", "b", "os>" (fused)
  EXPECT_EQ(t.decode(std::vector<int32_t>{6, 6}), "ab ab");  // Strip removes the leading space
  Detokenizer d(t);
  EXPECT_EQ(d.push(5), "");     // a leading space may still be stripped
  EXPECT_EQ(d.push(6), " ab");  // as decode({5, 6}): one leading space stripped
}

void expect_error(const std::string& json, ErrorCode code, const std::string& needle) {
  try {
    Tokenizer::from_json(json, "bad.json");
    ADD_FAILURE() << "expected an error containing " << needle;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(Tokenizer, ClearErrors) {
  std::string good = tiny_json("");
  expect_error(tiny_json("").replace(good.find("\"BPE\""), 5, "\"Unigram\""), ErrorCode::kUnsupported,
               "Unigram");
  std::string nfkc = good;
  nfkc.replace(nfkc.find("\"Replace\""), 9, "\"NFKC\"");
  expect_error(nfkc, ErrorCode::kUnsupported, "normalizer type \"NFKC\"");
  expect_error(tiny_json("", R"("pre_tokenizer": {"type": "ByteLevel"},)"), ErrorCode::kUnsupported,
               "ByteLevel");
  std::string bad_merge = good;
  bad_merge.replace(bad_merge.find("[\"a\", \"b\"]"), 10, "[\"a\", \"q\"]");
  expect_error(bad_merge, ErrorCode::kCorruptFile, "merge token \"q\"");
  expect_error("{\n  \"model\": {\"type\": \"BPE\",\n  \"vocab\": {\"a\": 1,}}}", ErrorCode::kCorruptFile,
               "bad.json:3:");
  expect_error("[]", ErrorCode::kCorruptFile, "top level");
  expect_error(good.substr(0, good.size() / 2), ErrorCode::kCorruptFile, "bad.json:");
  expect_error(tiny_json("\"dropout\": 0.1,"), ErrorCode::kCorruptFile, "dropout");
  // Fuzzer find (CI): a non-string post_processor "type" threw an uncaught nlohmann type_error.
  for (const char* pp : {R"("post_processor": {"type": 5},)", R"("post_processor": {"type": null, "single": 1},)"}) {
    Tokenizer t = Tokenizer::from_json(tiny_json("", pp), "pp.json");  // ignored, as HF ignores unknown ones
    EXPECT_EQ(t.encode("ab"), (std::vector<int32_t>{4}));
  }
  Tokenizer big = Tokenizer::from_json(
      tiny_json("", R"("post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<bos>"}}],
                 "special_tokens": {"<bos>": {"ids": [99999999999]}}},)"),
      "pp.json");
  EXPECT_EQ(big.encode("ab"), (std::vector<int32_t>{4}));  // an out-of-range BOS id is not adopted
  try {
    Tokenizer::from_file("/nonexistent/tokenizer.json");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
  }
}

TEST(Utf8, SanitizeMatchesPythonReplace) {
  // Python: b"\xe4\xb8a\xf0\x9f\x98\xed\xa0\x80\xc0\xaf\xff".decode("utf-8", "replace")
  std::string in =
      "\xe4\xb8"
      "a"
      "\xf0\x9f\x98"
      "\xed\xa0\x80"
      "\xc0\xaf"
      "\xff";
  std::string r = "\xEF\xBF\xBD";
  EXPECT_EQ(text::utf8_sanitize(in), r + "a" + r + r + r + r + r + r + r);
}

}  // namespace
}  // namespace ember
