// Which view is open, kept in the URL's hash (#/train) so reloads, back/forward and links work.
export const VIEWS = [
  { id: 'dataset', label: 'Dataset' },
  { id: 'train', label: 'Train' },
  { id: 'runs', label: 'Runs' },
  { id: 'evaluate', label: 'Evaluate' },
  { id: 'attention', label: 'Attention' },
  { id: 'segment', label: 'Segment' },
  { id: 'detect', label: 'Detect' },
  { id: 'latency', label: 'Latency' },
  { id: 'settings', label: 'Settings' },
] as const;

export type ViewId = (typeof VIEWS)[number]['id'];

function fromHash(hash: string): ViewId {
  const id = hash.replace(/^#\/?/, '');
  return (VIEWS.find((v) => v.id === id)?.id ?? 'dataset') as ViewId;
}

class Nav {
  view = $state<ViewId>('dataset');

  init(): void {
    this.view = fromHash(location.hash);
    window.addEventListener('hashchange', () => (this.view = fromHash(location.hash)));
  }

  go(id: ViewId): void {
    if (this.view === id) return;
    // Assigning the hash keeps ?token= in the URL and adds a history entry for Back.
    location.hash = `#/${id}`;
  }
}

export const nav = new Nav();
