// A content item's cover (served by the app, from its cache or the server), or a calm placeholder when there is
// none or it cannot load (offline).
import { useState } from "react";
import { useTranslation } from "react-i18next";

import { mediaUrl } from "../api";
import type { ContentItem } from "../bindings";

export function Cover({ item }: { item: ContentItem }) {
  const { t } = useTranslation();
  const [failed, setFailed] = useState(false);
  // Media are addressed by their key; a cache from before keys has none yet.
  const src = item.cover?.key ? mediaUrl(item.cover.key) : null;
  if (!src || failed) {
    return (
      <div className="cover-ph" data-kind={item.kind} aria-hidden="true">
        {t(`kind.${item.kind}`)}
      </div>
    );
  }
  return (
    <img
      className="cover"
      src={src}
      alt=""
      loading="lazy"
      onError={() => setFailed(true)}
    />
  );
}
