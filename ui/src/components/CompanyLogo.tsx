// The company's uploaded logo (served by the app from its cache, offline
// too), else its initial on the brand colour, as posters and public pages
// show it.
import { useState } from "react";

import { mediaUrl } from "../api";
import type { Company } from "../bindings";

export function CompanyLogo({ company, className }: { company: Company; className: string }) {
  const [failed, setFailed] = useState(false);
  const key = company.logo?.key;
  if (key && !failed) {
    return (
      <img
        className={`${className} logo-img`}
        src={mediaUrl(key)}
        alt=""
        data-testid="company-logo"
        onError={() => setFailed(true)}
      />
    );
  }
  return (
    <span className={className} aria-hidden="true" data-testid="company-initial">
      {company.name.slice(0, 1)}
    </span>
  );
}
