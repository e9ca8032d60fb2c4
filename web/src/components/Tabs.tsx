import { KeyboardEvent, ReactNode, useRef } from "react";

/** Tabs after the WAI-ARIA pattern (arrow keys, Home and End move between them). The chosen tab is part of the
 *  address, so `onSelect` navigates and `active` comes from the route. */
export function Tabs<T extends string>(props: {
  label: string;
  tabs: readonly { id: T; label: string }[];
  active: T;
  onSelect: (id: T) => void;
  /** Prefixes the tabs' and panel's element ids, where a page has more than one set of tabs. */
  idPrefix?: string;
  children: ReactNode;
}) {
  const { tabs, active, onSelect, idPrefix = "" } = props;
  const buttons = useRef<(HTMLButtonElement | null)[]>([]);

  function keys(event: KeyboardEvent) {
    const index = tabs.findIndex((t) => t.id === active);
    const moves: Record<string, number> = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: tabs.length - 1 };
    const next = moves[event.key];
    if (next === undefined) return;
    event.preventDefault();
    const wrapped = (next + tabs.length) % tabs.length;
    onSelect(tabs[wrapped].id);
    buttons.current[wrapped]?.focus();
  }

  return (
    <>
      <div className="tabs" role="tablist" aria-label={props.label} onKeyDown={keys}>
        {tabs.map((t, i) => (
          <button key={t.id} type="button" role="tab" id={`${idPrefix}tab-${t.id}`} aria-controls={`${idPrefix}panel-${t.id}`}
            aria-selected={t.id === active} tabIndex={t.id === active ? 0 : -1} ref={(el) => { buttons.current[i] = el; }}
            onClick={() => onSelect(t.id)}>{t.label}</button>
        ))}
      </div>
      <div className="tab-panel" role="tabpanel" id={`${idPrefix}panel-${active}`} aria-labelledby={`${idPrefix}tab-${active}`}>
        {props.children}
      </div>
    </>
  );
}
