import { KeyboardEvent, UIEvent, useEffect, useLayoutEffect, useRef, useState } from "react";
import { Run } from "../../api";
import { attributeColumns, Column, sortOf } from "./runs";

/** Height of one body row in pixels; styles.css gives `.runs-table tbody tr` the same height. */
const rowHeight = 36;
/** Rows drawn above and below the visible ones, so scrolling and arrow keys rarely reach an undrawn row. */
const overscan = 10;

interface Props {
  runs: Run[];
  hasMore: boolean;
  loading: boolean;
  /** The chosen columns after the run's name, status and start. */
  columns: Column[];
  orderBy: string;
  onSort: (column: Column) => void;
  picked: Map<string, Run>;
  onPick: (run: Run, pick: boolean) => void;
  openId?: string;
  onOpen: (run: Run) => void;
  onNearEnd: () => void;
  /** Changes when a new query starts, to scroll back to the top. */
  queryKey: string;
}

/** The runs as a windowed table: however many are loaded (10,000 or more), only the rows in view and a few around
 *  them are in the DOM; spacer rows keep the scroll height right. Sorting is the server's (click a header); the
 *  checkboxes pick runs to compare and the arrow keys move between them. */
export function RunsTable(props: Props) {
  const { runs, picked } = props;
  const columns = [...attributeColumns, ...props.columns];
  const scroller = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewport, setViewport] = useState(448);
  const focusRow = useRef<number | null>(null);

  useEffect(() => {
    const element = scroller.current!;
    const observer = new ResizeObserver(() => setViewport(element.clientHeight));
    observer.observe(element);
    return () => observer.disconnect();
  }, []);
  useEffect(() => {
    if (scroller.current) scroller.current.scrollTop = 0;
    setScrollTop(0);
  }, [props.queryKey]);

  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - overscan);
  const last = Math.min(runs.length, Math.ceil((scrollTop + viewport) / rowHeight) + overscan);
  const nearEnd = last >= runs.length - overscan;
  useEffect(() => {
    if (nearEnd && props.hasMore && !props.loading) props.onNearEnd();
  }, [nearEnd, props.hasMore, props.loading, runs.length]);

  useLayoutEffect(() => {
    if (focusRow.current === null) return;
    scroller.current?.querySelector<HTMLInputElement>(`input[data-row="${focusRow.current}"]`)?.focus();
    focusRow.current = null;
  });

  /** ArrowUp/ArrowDown (and Home/End) move from a row's checkbox to another row's, scrolling it into view. */
  function keys(event: KeyboardEvent<HTMLTableSectionElement>) {
    const target = event.target as HTMLElement;
    const row = Number(target.dataset.row);
    if (target.tagName !== "INPUT" || Number.isNaN(row)) return;
    const moves: Record<string, number> = { ArrowDown: row + 1, ArrowUp: row - 1, Home: 0, End: runs.length - 1 };
    const to = moves[event.key];
    if (to === undefined || to < 0 || to >= runs.length) return;
    event.preventDefault();
    const element = scroller.current!;
    const header = element.querySelector("thead")?.clientHeight ?? rowHeight;
    let top = element.scrollTop;
    if (to * rowHeight < top) top = to * rowHeight;
    else if ((to + 1) * rowHeight > top + element.clientHeight - header) top = (to + 1) * rowHeight - element.clientHeight + header;
    element.scrollTop = top;
    const drawn = element.querySelector<HTMLInputElement>(`input[data-row="${to}"]`);
    if (drawn) drawn.focus();
    else focusRow.current = to;  // focused once the row is drawn
    setScrollTop(top);
  }

  const width = 1 + columns.length;
  return (
    <div className="runs-scroll" ref={scroller} onScroll={(e: UIEvent<HTMLDivElement>) => setScrollTop(e.currentTarget.scrollTop)}>
      <table className="runs-table" aria-label="Runs" aria-rowcount={runs.length + 1 + (props.hasMore ? 1 : 0)} aria-busy={props.loading}>
        <thead>
          <tr aria-rowindex={1}>
            <th className="pick"><span className="visually-hidden">Compare</span></th>
            {columns.map((column) => {
              const sort = sortOf(props.orderBy, column);
              return (
                <th key={column.id} aria-sort={column.orderBy ? sort : undefined} className={column.kind === "tag" ? "tag-column" : column.kind}>
                  {column.orderBy
                    ? <button type="button" className="sort" onClick={() => props.onSort(column)}
                      title={`Sort by ${column.kind === "attribute" ? column.label : `${column.kind} ${column.label}`}`}>
                      {column.label}<span aria-hidden="true">{sort === "ascending" ? " ▲" : sort === "descending" ? " ▼" : ""}</span>
                    </button>
                    : <span className="unsorted" title={`${column.label} (the server cannot sort by it)`}>{column.label}</span>}
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody onKeyDown={keys}>
          {first > 0 && <tr className="spacer" aria-hidden="true" style={{ height: first * rowHeight }}><td colSpan={width} /></tr>}
          {runs.slice(first, last).map((r, offset) => {
            const index = first + offset;
            return (
              <tr key={r.id} aria-rowindex={index + 2} className={r.id === props.openId ? "selected" : undefined}>
                <td className="pick">
                  <input type="checkbox" data-row={index} aria-label={`Compare ${r.name}`} checked={picked.has(r.id)}
                    onChange={(e) => props.onPick(r, e.target.checked)} />
                </td>
                <td title={r.name}><button type="button" className="link" onClick={() => props.onOpen(r)}>{r.name}</button></td>
                <td>{r.status}</td>
                <td>{new Date(r.start_time).toLocaleString()}</td>
                {props.columns.map((column) => {
                  const text = column.text(r);
                  return <td key={column.id} className={column.kind === "metric" ? "metric" : undefined} title={text}>{text}</td>;
                })}
              </tr>
            );
          })}
          {last < runs.length && <tr className="spacer" aria-hidden="true" style={{ height: (runs.length - last) * rowHeight }}><td colSpan={width} /></tr>}
          {runs.length === 0 && !props.loading && <tr><td colSpan={width} className="muted">No runs match.</td></tr>}
          {props.hasMore && <tr className="more"><td colSpan={width} className="muted">{props.loading ? "Loading more runs…" : "Scroll for more runs"}</td></tr>}
        </tbody>
      </table>
    </div>
  );
}
