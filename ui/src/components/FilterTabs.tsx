// A row of filter tabs over a list (all, then one value each): the
// briefcase's kinds, the library's statuses.
import { useTranslation } from "react-i18next";

export interface FilterTab<V> {
  /** null: the "all" tab. */
  value: V | null;
  /** i18n key of the tab's label. */
  label: string;
}

export function FilterTabs<V extends string>({
  tabs,
  selected,
  onSelect,
  label,
  testPrefix,
}: {
  tabs: FilterTab<V>[];
  selected: V | null;
  onSelect: (value: V | null) => void;
  /** The row's accessible name (already translated). */
  label: string;
  /** Each tab's data-testid is `${testPrefix}-${value ?? "all"}`. */
  testPrefix: string;
}) {
  const { t } = useTranslation();
  return (
    <div className="tabs" role="tablist" aria-label={label}>
      {tabs.map((tab) => (
        <button
          key={tab.label}
          type="button"
          role="tab"
          className="tab"
          data-testid={`${testPrefix}-${tab.value ?? "all"}`}
          aria-selected={selected === tab.value}
          onClick={() => onSelect(tab.value)}
        >
          {t(tab.label)}
        </button>
      ))}
    </div>
  );
}
