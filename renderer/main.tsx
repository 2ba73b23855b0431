/**
 * Renderer entry: connect to the host (preload or WebSocket) and render the app.
 */
import { createRoot } from 'react-dom/client';
import { App } from './App.tsx';
import { connectHost } from './transport.ts';
import './styles.css';

const root = document.getElementById('root');
if (root) createRoot(root).render(<App connect={connectHost} />);
