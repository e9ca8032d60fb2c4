import { optionalColumns, SeenKeys } from "./runs";

/** Which columns the runs table shows after the run's name, status and start: attributes (duration, user, source,
 *  models) and any param, metric or tag seen in the experiment's loaded runs. The choice is the address's `cols`, so it
 *  survives a reload, a filter and a link. */
export function ColumnChooser({ seen, chosen, onChange }: { seen: SeenKeys; chosen: string[]; onChange: (ids: string[]) => void }) {
  const groups: { title: string; ids: { id: string; label: string }[] }[] = [
    { title: "Attributes", ids: optionalColumns.map((c) => ({ id: c.id, label: c.label })) },
    { title: "Params", ids: seen.params.map((k) => ({ id: `p:${k}`, label: k })) },
    { title: "Metrics", ids: seen.metrics.map((k) => ({ id: `m:${k}`, label: k })) },
    { title: "Tags", ids: seen.tags.map((k) => ({ id: `t:${k}`, label: k })) },
  ];
  function toggle(id: string, on: boolean) {
    onChange(on ? [...chosen, id] : chosen.filter((c) => c !== id));
  }
  return (
    <details className="column-chooser">
      <summary>Columns ({chosen.length})</summary>
      <div className="column-groups">
        {groups.filter((g) => g.ids.length > 0).map((group) => (
          <fieldset key={group.title}>
            <legend>{group.title}</legend>
            {group.ids.map(({ id, label }) => (
              <label key={id} className="inline-check">
                <input type="checkbox" checked={chosen.includes(id)} onChange={(e) => toggle(id, e.target.checked)}
                  aria-label={`${group.title.replace(/s$/, "")} ${label}`} />{label}
              </label>
            ))}
          </fieldset>
        ))}
      </div>
    </details>
  );
}
