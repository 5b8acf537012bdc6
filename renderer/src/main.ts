// Entry point: connect to the studio, start the stores that listen to its events, mount the app.
import { mount } from 'svelte';
import './app.css';
import App from './App.svelte';
import { nav } from './stores/nav.svelte.ts';
import { runs } from './stores/runs.svelte.ts';
import { studio } from './stores/studio.svelte.ts';
import { theme } from './stores/theme.svelte.ts';
import { training } from './stores/training.svelte.ts';
import { trainView } from './stores/train-view.svelte.ts';

theme.init();
nav.init();
studio.connect();
training.init();
trainView.init();
runs.init();

mount(App, { target: document.getElementById('app')! });
