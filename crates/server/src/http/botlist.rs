//! The bot and preview list (data file), parsed once.

use std::sync::LazyLock;

use warmlead_core::botfilter::BotRules;

/// `crates/server/data/bot_user_agents.txt`, compiled in.
pub(crate) static BOT_RULES: LazyLock<BotRules> =
    LazyLock::new(|| BotRules::parse(include_str!("../../data/bot_user_agents.txt")));

#[cfg(test)]
mod tests {
    use warmlead_core::botfilter::{FilterReason, RequestShape};

    use super::BOT_RULES;

    /// Fetchers, crawlers and tools that must never count as a view.
    const BOTS: &[&str] = &[
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "facebookexternalhit/1.1 Facebot Twitterbot/1.0",
        "WhatsApp/2.23.20.0 A",
        "TelegramBot (like TwitterBot)",
        "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
        "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
        "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
        "Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5",
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
        "Sogou web spider/4.0(+http://www.sogou.com/docs/help/webmasters.htm#07)",
        "Mozilla/5.0 (compatible; Bytespider; spider-feedback@bytedance.com)",
        "Mozilla/5.0 (Linux; Android 5.0) AppleWebKit/537.36 (KHTML, like Gecko) Mobile Safari/537.36 (compatible; Bytespider; https://zhanzhang.toutiao.com/)",
        "Mozilla/5.0 (compatible; YisouSpider/5.0)",
        "Mozilla/5.0 (compatible; 360Spider)",
        "Mozilla/5.0 (compatible;PetalBot;+https://webmaster.petalsearch.com/site/petalbot)",
        "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.1.1 Safari/605.1.15 (Applebot/0.1)",
        "Mozilla/5.0 (compatible; LarkBot/1.0)",
        "DingTalkBot-LinkService/1.0",
        "WeChat-Preview/1.0",
        "QQ-URL-Manager",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36",
        "curl/8.5.0",
        "python-requests/2.31.0",
        "Go-http-client/1.1",
        "Wget/1.21.4",
    ];

    /// Real people, including inside Chinese apps' in-app browsers.
    const PEOPLE: &[&str] = &[
        // WeChat on Android and iOS, and on desktop.
        "Mozilla/5.0 (Linux; Android 13; V2227A Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36 XWEB/1160065 MMWEBSDK/20231202 MMWEBID/2247 MicroMessenger/8.0.47.2560(0x28002F35) WeChat/arm64 Weixin NetType/4G Language/zh_CN ABI/arm64",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.44(0x18002c2d) NetType/WIFI Language/zh_CN",
        "Mozilla/5.0 (Windows NT 10.0; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/81.0.4044.138 Safari/537.36 NetType/WIFI MicroMessenger/7.0.20.1781(0x6700143B) WindowsWechat(0x63090719) XWEB/8391 Flue",
        // WeCom, DingTalk, Feishu, QQ, Weibo, Douyin in-app browsers.
        "Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 wxwork/4.1.10 MicroMessenger/7.0.1 Language/zh ColorScheme/Light",
        "Mozilla/5.0 (Linux; Android 12; PFEM10 Build/SKQ1.211019.001; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/97.0.4692.98 Mobile Safari/537.36 AliApp(DingTalk/7.0.40) com.alibaba.android.rimet/30000000 Channel/227200 language/zh-CN abi/64 UT4Aplus/0.2.25 colorScheme/light",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Lark/7.6.5 LarkLocale/zh_CN ChannelName/Feishu TTWebView/0141130024317",
        "Mozilla/5.0 (Linux; U; Android 11; zh-cn; M2012K11AC Build/RKQ1.200826.002) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/89.0.4389.72 MQQBrowser/11.7 Mobile Safari/537.36 QQ/8.9.28.10155",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 16_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Weibo (iPhone14,2__weibo__13.1.2__iphone__os16.0)",
        "Mozilla/5.0 (Linux; Android 13; 22081212C Build/TKQ1.220829.002; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/107.0.5304.105 Mobile Safari/537.36 aweme_270100 JsSdk/1.0 NetType/WIFI Channel/huawei_1128_64 app_version/27.1.0",
        // Ordinary browsers.
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
        "Mozilla/5.0 (Linux; Android 9; CUBOT X20 PRO) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/110.0.0.0 Mobile Safari/537.36",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
        "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
        "Mozilla/5.0 (Linux; Android 12; HarmonyOS; ALN-AL00) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/99.0 HuaweiBrowser/14.0.1.300 Mobile Safari/537.36",
        "Mozilla/5.0 (Linux; U; Android 10; zh-CN; V1916A Build/QP1A.190711.020) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/78.0.3904.108 UCBrowser/13.4.0.1306 Mobile Safari/537.36",
    ];

    fn get(ua: &str) -> RequestShape<'_> {
        RequestShape {
            method: "GET",
            user_agent: Some(ua),
            ..Default::default()
        }
    }

    #[test]
    fn the_list_parses() {
        assert!(BOT_RULES.len() > 80, "{}", BOT_RULES.len());
    }

    #[test]
    fn bots_and_previews_do_not_count() {
        for ua in BOTS {
            assert_eq!(
                BOT_RULES.classify(&get(ua)),
                Some(FilterReason::BotUserAgent),
                "{ua}"
            );
        }
    }

    #[test]
    fn people_count() {
        for ua in PEOPLE {
            assert_eq!(BOT_RULES.classify(&get(ua)), None, "{ua}");
        }
    }

    #[test]
    fn request_shapes_do_not_count_even_from_a_browser() {
        let ua = PEOPLE[0];
        let head = RequestShape {
            method: "HEAD",
            ..get(ua)
        };
        assert_eq!(BOT_RULES.classify(&head), Some(FilterReason::Head));
        let prefetch = RequestShape {
            sec_purpose: Some("prefetch"),
            ..get(ua)
        };
        assert_eq!(BOT_RULES.classify(&prefetch), Some(FilterReason::Prefetch));
        let purpose = RequestShape {
            purpose: Some("prefetch"),
            ..get(ua)
        };
        assert_eq!(BOT_RULES.classify(&purpose), Some(FilterReason::Prefetch));
    }
}
