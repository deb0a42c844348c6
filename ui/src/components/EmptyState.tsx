import type { ReactNode } from "react";

/** What an empty list says: what will be here and what to do next. */
export function EmptyState({
  title,
  body,
  action,
  testId,
}: {
  title: string;
  body: string;
  action?: ReactNode;
  testId?: string;
}) {
  return (
    <div className="empty" data-testid={testId ?? "empty-state"}>
      <h2>{title}</h2>
      <p>{body}</p>
      {action}
    </div>
  );
}
