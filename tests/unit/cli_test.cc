// The CLI's pure parts: the answer printer (Gemma 4 thought channel hidden or dimmed, tool
// calls shown once closed, markers split across tokens) and the loading progress bar.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "../../apps/cli/answer_printer.cc"
#include "../../apps/cli/progress_bar.cc"

namespace {

using ember::cli::AnswerPrinter;

// Feeds `pieces` (as tokens would arrive) and returns what was printed.
std::string print(const std::vector<std::string>& pieces, bool show_thinking, bool dim) {
  char* buf = nullptr;
  size_t len = 0;
  FILE* f = open_memstream(&buf, &len);
  {
    AnswerPrinter p(show_thinking, dim, f);
    for (const auto& s : pieces) p.write(s);
    p.finish();
  }
  std::fclose(f);
  std::string out(buf, len);
  std::free(buf);
  return out;
}

// Every split of `text` into two pieces prints the same as the whole text.
void expect_split_invariant(const std::string& text, bool show, bool dim, const std::string& want) {
  EXPECT_EQ(print({text}, show, dim), want);
  for (size_t i = 1; i < text.size(); ++i)
    EXPECT_EQ(print({text.substr(0, i), text.substr(i)}, show, dim), want) << "split at " << i;
}

TEST(AnswerPrinter, PlainTextPassesThrough) {
  expect_split_invariant("Paris is the capital. <b>x</b> a < b", false, false,
                         "Paris is the capital. <b>x</b> a < b");
}

TEST(AnswerPrinter, ThoughtHiddenByDefault) {
  expect_split_invariant("<|channel>thought\nLet me think.<channel|>The answer is 4.", false, false,
                         "The answer is 4.");
}

TEST(AnswerPrinter, ThoughtShownAndDimmedWithShowThinking) {
  EXPECT_EQ(print({"<|channel>thought\nHmm.<channel|>4"}, true, false), "Hmm.4");
  EXPECT_EQ(print({"<|chan", "nel>thought\n", "Hmm", ".<chan", "nel|>4"}, true, true),
            "\033[2mHmm\033[0m\033[2m.\033[0m4");
}

TEST(AnswerPrinter, UnclosedThoughtAtTheEndIsNotShownAsAnswer) {
  EXPECT_EQ(print({"<|channel>thought\nstill thinking"}, false, false), "");
  EXPECT_EQ(print({"<|channel>thought\nstill thinking"}, true, false), "still thinking");
}

TEST(AnswerPrinter, ToolCallsShownWhenClosed) {
  expect_split_invariant("Sure.<|tool_call>call:get_weather{city:<|\"|>Paris<|\"|>}<tool_call|>", false,
                         false, "Sure.[tool call] get_weather {\"city\":\"Paris\"}");
  EXPECT_NE(print({"<|tool_call>call:f{a:<tool_call|>"}, false, false).find("[malformed tool call"),
            std::string::npos);
}

TEST(AnswerPrinter, HeldBackPartialMarkerIsFlushedAtTheEnd) {
  EXPECT_EQ(print({"x <|chan"}, false, false), "x <|chan");
}

TEST(AnswerPrinter, TextAfterTheEndOfTurnIsDroppedAndGenerationStops) {
  EXPECT_EQ(print({"done<turn|>more"}, false, false), "done");
  char* buf = nullptr;
  size_t len = 0;
  FILE* f = open_memstream(&buf, &len);
  AnswerPrinter p(false, false, f);
  EXPECT_TRUE(p.write("a<tu"));
  EXPECT_FALSE(p.write("rn|>"));  // the turn ended: the caller stops generating
  EXPECT_FALSE(p.write("b"));
  p.finish();
  std::fclose(f);
  EXPECT_EQ(std::string(buf, len), "a");
  std::free(buf);
}

TEST(AnswerPrinter, PastEndKeepsPrintingTheNextTurn) {
  char* buf = nullptr;
  size_t len = 0;
  FILE* f = open_memstream(&buf, &len);
  AnswerPrinter p(false, false, f, /*past_end=*/true);
  EXPECT_TRUE(p.write("a<turn|>"));
  EXPECT_TRUE(p.write("b<|channel>thought\nx<channel|>c"));
  p.finish();
  std::fclose(f);
  EXPECT_EQ(std::string(buf, len), "abc");
  std::free(buf);
}

TEST(ProgressBar, RendersFractionAndBytes) {
  ember::LoadProgress p;
  p.bytes_total = 2'600'000'000;
  p.bytes_done = 1'300'000'000;
  const std::string s = ember::cli::render_progress("e2b-q4", p, 80);
  EXPECT_EQ(s.rfind("loading e2b-q4 [", 0), 0u) << s;
  EXPECT_NE(s.find(" 50%"), std::string::npos) << s;
  EXPECT_NE(s.find("1.30/2.60 GB"), std::string::npos) << s;
  EXPECT_LE(s.size(), 80u);
  // Half the cells are full.
  const size_t open = s.find('['), close = s.find(']');
  const std::string cells = s.substr(open + 1, close - open - 1);
  EXPECT_EQ(std::count(cells.begin(), cells.end(), '#') * 2, std::ptrdiff_t(cells.size()));
  p.bytes_done = p.bytes_total;
  EXPECT_NE(ember::cli::render_progress("m", p, 80).find("100%"), std::string::npos);
  ember::LoadProgress small;  // below 1 GB: megabytes
  small.bytes_total = 250'000'000;
  small.bytes_done = 50'000'000;
  EXPECT_NE(ember::cli::render_progress("m", small, 80).find(" 20%  50.00/250.00 MB"), std::string::npos);
  // A narrow terminal still gets the numbers.
  EXPECT_NE(ember::cli::render_progress(std::string(200, 'n'), p, 40).find("100%"), std::string::npos);
  EXPECT_LE(ember::cli::render_progress(std::string(200, 'n'), p, 40).size(), 40u);
}

TEST(ProgressBar, RedrawsOnlyOnChangeAndClearsTheLine) {
  char* buf = nullptr;
  size_t len = 0;
  FILE* f = open_memstream(&buf, &len);
  {
    ember::cli::ProgressBar bar("m", f, 60);
    ember::LoadProgress p;
    p.bytes_total = 1000;
    for (uint64_t d : {0, 0, 500, 500, 1000}) {
      p.bytes_done = d;
      bar.update(p);
    }
    bar.clear();
  }
  std::fclose(f);
  std::string out(buf, len);
  std::free(buf);
  EXPECT_EQ(std::count(out.begin(), out.end(), '\r'), 4) << out;  // 3 draws + the final erase
  EXPECT_EQ(out.substr(out.size() - 4), "\r\033[K");
}

}  // namespace
